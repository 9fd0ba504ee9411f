"""Making a rename durable: the directory entry must reach the disk, not only the file.

Why it exists: the blob store and the bundle export both write to a temporary name and rename
into place; after a power cut the new name exists only if its folder was synced too.
"""

from __future__ import annotations

import os
from pathlib import Path


def fsync_dir(folder: Path) -> None:
    """Flush ``folder``'s entries (new or renamed names) to the disk."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
