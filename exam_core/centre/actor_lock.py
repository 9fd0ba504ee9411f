"""One process at a time signs as an actor: an exclusive lock per key name in the centre.

Each entry carries its actor's next ``seq`` (DESIGN §3.1), which a writer takes from the log
as it has seen it plus what it has itself queued.  Two processes signing as the same actor at
once both take the same numbers, and ingest refuses whichever comes second as ``bad_seq`` —
part-way through both runs.  A process that will sign as an actor for a while (``examctl log
append``) claims it first; a second claim of the same actor, from any process, is refused
before it signs anything.

The locks are ``flock`` locks on files in ``<centre>/locks/``: the kernel releases them when
their holder exits, however it exits, so a crashed writer never leaves an actor locked.  The
files themselves stay (removing a lock file while another process opens it would let two
holders lock two different files).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from urllib.parse import quote

from exam_core.errors import StoreError

LOCKS_DIR = "locks"


class ActorLocks:
    """The actor locks one open centre holds; released by ``release`` or at process exit."""

    def __init__(self, root: Path) -> None:
        self._folder = root / LOCKS_DIR
        self._held: dict[str, int] = {}

    def claim(self, name: str) -> None:
        """Hold the lock of actor ``name`` (again, if this centre already holds it).

        Raises:
            StoreError: another process (or another open centre) holds it, or the lock file
                cannot be created.
        """
        if name in self._held:
            return
        try:
            self._folder.mkdir(mode=0o700, exist_ok=True)
            fd = os.open(
                self._folder / (quote(name, safe="") + ".lock"),
                os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0),
                0o600,
            )
        except OSError as e:
            raise StoreError(f"cannot lock actor {name}: {e.strerror or e}") from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            raise StoreError(
                f"actor {name} is signing in another process; one process at a time signs as "
                "an actor (its seq numbers would collide)"
            ) from e
        self._held[name] = fd

    def release(self) -> None:
        """Release every lock held."""
        for fd in self._held.values():
            os.close(fd)
        self._held.clear()
