"""Enrolment photos named in a candidates file: read from beside the file, bounded, checked.

Why it exists: a candidates file names each photo by its file name; the file is read here, and
only here, with the rules that keep a hostile roster from reading elsewhere or exhausting
memory: a plain file name (no folder, no ``..``), a regular file that is not a symbolic link, at
most ``MAX_PHOTO_BYTES``, and the signature of a JPEG or PNG image.  The bytes are then sealed
(``secret.CentreSecret.seal_photo``) before they reach the database.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from exam_core.errors import ExamDayError

MAX_PHOTO_BYTES = 2 * 1024 * 1024
_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}\.(?:jpe?g|png)", re.ASCII | re.IGNORECASE)
_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")


class PhotoFolder:
    """Reads the photos of one candidates file from the folder it sits in."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __call__(self, name: str) -> bytes:
        """The bytes of photo ``name``.

        Raises:
            ExamDayError: (``photo``) the name is not a plain JPEG or PNG file name, the file
                is missing, a link, too large, or not an image of those kinds.
        """
        if _NAME.fullmatch(name) is None:
            raise ExamDayError("photo", f"{name!r} is not a plain .jpg/.jpeg/.png file name")
        try:
            fd = os.open(self.folder / name, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as e:
            raise ExamDayError("photo", f"{name}: {e.strerror}") from e
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ExamDayError("photo", f"{name} is not a regular file")
            data = os.read(fd, MAX_PHOTO_BYTES + 1)
        finally:
            os.close(fd)
        if len(data) > MAX_PHOTO_BYTES:
            raise ExamDayError("photo", f"{name} is larger than {MAX_PHOTO_BYTES} bytes")
        if not data.startswith(_SIGNATURES):
            raise ExamDayError("photo", f"{name} is not a JPEG or PNG image")
        return data
