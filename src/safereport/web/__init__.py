"""Server-rendered pages: the oversight view and the subject view (`safereport.web.pages`)."""

from safereport.web.pages import router

__all__ = ["router"]
