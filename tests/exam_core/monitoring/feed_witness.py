"""A process that feeds a witness checkpoint after checkpoint, for the crash test.

``python -m tests.exam_core.monitoring.feed_witness MONITOR_DIR`` grows the test log by one
leaf per request, from the size the witness holds, and prints each size once its cosignature
came back.  The test kills it with SIGKILL at some point and looks at what survived.
"""

from __future__ import annotations

import sys

from exam_core.monitoring.home import open_monitor
from tests.exam_core.monitoring.signed_tree import SignedTree

STEPS = 10_000


def main(root: str) -> None:
    with open_monitor(root) as monitor:
        tree = SignedTree.new()
        record = monitor.store.witness_state(tree.origin)
        size = 0 if record is None else record.size
        tree.grow(size + STEPS)
        for new in range(size + 1, size + STEPS):
            monitor.witness.add_checkpoint(tree.request(size, new))
            print(new, flush=True)
            size = new


if __name__ == "__main__":
    main(sys.argv[1])
