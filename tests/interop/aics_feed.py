"""Run under the interop interpreter: aics-witness's own log-side client feeds a witness.

stdin: {"url", "witness_vkey", "leaves": [base64], "checkpoints": [base64 signed notes]}.
The client builds its consistency proofs with aics-tlog's Merkle tree (not ours), follows the
spec's 409 recovery by itself, and verifies each cosignature with the witness vkey.  stdout:
{"lines": [the cosignature line(s) of each checkpoint], "errors": [...]}.
"""

import base64
import json
import sys

from aics_tlog import MerkleTree
from aics_witness.feeder import FeederError, WitnessClient

job = json.load(sys.stdin)
tree = MerkleTree(base64.b64decode(x) for x in job["leaves"])
lines: list[str] = []
errors: list[str] = []
with WitnessClient(job["url"], job["witness_vkey"], max_attempts=2) as client:
    for note in job["checkpoints"]:
        try:
            lines.append(client.submit(base64.b64decode(note), tree.consistency_proof))
        except FeederError as e:
            errors.append(f"{type(e).__name__}: {e}")
json.dump({"lines": lines, "errors": errors}, sys.stdout)
