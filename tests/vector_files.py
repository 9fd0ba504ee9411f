"""Where the published test vectors live: a copy in the repository, sources in its README."""

from __future__ import annotations

from pathlib import Path

VECTOR_DIR = Path(__file__).resolve().parent / "vectors"
