"""The exam centre's HTTP service (FastAPI, served by ``examctl serve`` under uvicorn)."""

from api.http.app import create_app
from api.http.limits import Limits

__all__ = ["Limits", "create_app"]
