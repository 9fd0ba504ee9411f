"""A machine's own signing key, made on the machine: the private half never leaves it.

The administrator registers the public half (``examctl keys register --vkey``); the machine
keeps the key file (mode 0600) and signs its steps with it.
"""

from __future__ import annotations

from pathlib import Path

from exam_core.centre.centre import key_file_name
from exam_core.centre.keys import read_key_file, write_key_file
from exam_core.log.note import Ed25519Signer


def device_key(directory: Path, name: str) -> Ed25519Signer:
    """The key ``name`` (a full key name) of the machine keeping its files in ``directory``:
    read if the machine made it before (a restart), made and stored otherwise.

    Raises:
        KeyFormatError: an existing key file is unreadable or names another key.
        OSError: the directory cannot be written.
    """
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / key_file_name(name)
    if path.exists():
        return read_key_file(path, name)
    signer = Ed25519Signer.generate(name)
    write_key_file(path, signer)
    return signer
