"""``examctl`` commands of the alloc group."""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: Any) -> None:
    """Add this group's sub-commands to the ``examctl`` parser."""
    del commands


_ = argparse
