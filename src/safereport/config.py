"""One typed settings object. Every setting has a `SAFEREPORT_*` environment variable."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from safereport.errors import ConfigError


class Settings(BaseSettings):
    """safereport's settings, read from `SAFEREPORT_*` variables (see docs/settings.md)."""

    model_config = SettingsConfigDict(env_prefix="SAFEREPORT_", frozen=True, extra="ignore")

    db: str | None = Field(
        default=None,
        description="Database URL of the store (sqlite:///PATH or postgresql://...). "
        "Default: safereport.db in the data directory.",
    )
    home: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("safereport", appauthor=False)),
        description="Data directory: the default store and the deployment's keys live here.",
    )
    key_dir: Path | None = Field(
        default=None,
        description="Where the deployment's secret keys are kept, outside the database. Default: HOME/keys.",
    )
    commit_batch: int = Field(
        default=256,
        ge=1,
        le=100_000,
        description="Decisions appended to the audit log in one durable commit by batch deciding. "
        "No response is released before its commit.",
    )
    log_origin: str | None = Field(
        default=None,
        description="The transparency log's origin line, naming it in checkpoints and receipts. "
        "Default: safereport.localhost/<deployment id of the store>.",
    )
    checkpoint_every: int = Field(
        default=1_000,
        ge=1,
        description="A signed checkpoint is issued once this many entries follow the last one.",
    )
    checkpoint_ms: int = Field(
        default=1_000,
        ge=0,
        description="...or once this many milliseconds have passed since the last one, at the next append.",
    )
    sqlite_synchronous: Literal["FULL", "EXTRA"] = Field(
        default="FULL",
        description="SQLite durability: FULL (fsync on every commit, the default) or EXTRA.",
    )

    max_body_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1_024,
        description="HTTP service: the largest request body accepted, in bytes, counted as it streams in.",
    )
    rate_limit: float = Field(
        default=200.0,
        ge=0,
        description="HTTP service: requests per second allowed to one API key, per worker process "
        "(0: no limit).",
    )
    rate_burst: int = Field(
        default=400,
        ge=1,
        description="HTTP service: how many requests one API key may make at once before the rate applies.",
    )
    subject_rate_limit: float = Field(
        default=0.2,
        ge=0,
        description="HTTP service: subject-history look-ups per second allowed to one client address, "
        "per worker process (0: no limit).",
    )
    subject_rate_burst: int = Field(
        default=5,
        ge=1,
        description="HTTP service: subject-history look-ups one client address may make at once.",
    )
    key_cache_seconds: float = Field(
        default=2.0,
        ge=0,
        le=60,
        description="HTTP service: how long a worker trusts an API key it has checked before checking "
        "it again; a revoked key stops working within this time (0: check on every request).",
    )

    @property
    def database_url(self) -> str:
        if self.db:
            return self.db
        return f"sqlite:///{self.home / 'safereport.db'}"

    @property
    def keys_path(self) -> Path:
        return self.key_dir if self.key_dir is not None else self.home / "keys"


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides; a bad value is a ConfigError."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "SAFEREPORT_" + str(first["loc"][0]).upper() if first["loc"] else "SAFEREPORT_*"
        raise ConfigError(f"{first['msg']}, got {first.get('input')!r}", field=name) from None
