"""Server-rendered pages: the oversight view and the subject view (to come)."""

from fastapi import APIRouter

router = APIRouter()
