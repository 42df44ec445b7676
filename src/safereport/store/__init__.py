"""The store: tables, migrations, and persistence, on SQLite or PostgreSQL."""

from safereport.store.engine import Store

__all__ = ["Store"]
