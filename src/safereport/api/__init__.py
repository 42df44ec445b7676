"""The HTTP service (`safereport serve`): FastAPI over the library, one Firewall per worker."""

from safereport.api.app import create_app

__all__ = ["create_app"]
