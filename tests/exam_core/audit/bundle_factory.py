"""Build valid audit bundles in memory and on disk, with no database, for the audit's tests.

``LogBuilder`` plays a centre: deterministic keys from seeds, entries made with ``make_entry``,
checkpoints signed by the log key and cosigned by witnesses, and the files of the bundle
layout written with the same tile and policy functions the export uses.  The benchmark uses it
to build its large bundle.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from exam_core.log.checkpoint import Checkpoint, parse_checkpoint_text, sign_checkpoint
from exam_core.log.cosignature import CosignatureSigner, add_cosignatures, cosign_checkpoint
from exam_core.log.entry import make_entry
from exam_core.log.merkle import MerkleFrontier, leaf_hash
from exam_core.log.note import Ed25519Signer, parse_note
from exam_core.log.policy import Policy, render_policy
from exam_core.log.tiles import bundle_files, decode_entry_bundle, encode_tile_index

ORIGIN = "exam.example/c/370100-01"
TS = 1_790_000_000_000


def _witness_clock() -> int:
    return TS // 1000


def _seed(label: str) -> bytes:
    return hashlib.sha256(b"bundle-factory/" + label.encode()).digest()


@dataclass
class LogBuilder:
    """A log being written: keys, entries, checkpoints and blobs, all deterministic."""

    origin: str = ORIGIN
    witnesses: int = 1
    quorum: int = 1
    entries: list[bytes] = field(default_factory=list)
    checkpoints: list[bytes] = field(default_factory=list)
    blobs: dict[str, bytes] = field(default_factory=dict)
    beacons: list[str] = field(default_factory=list)
    """Beacon vkeys the policy pins."""

    def __post_init__(self) -> None:
        self.log_key = Ed25519Signer.from_seed(self.origin, _seed("log"))
        self.admin = Ed25519Signer.from_seed(f"{self.origin}/admin/a1", _seed("admin"))
        self.witness_keys = [
            CosignatureSigner.from_seed(
                f"witness.example/w{i}", _seed(f"w{i}"), clock=_witness_clock
            )
            for i in range(self.witnesses)
        ]
        self._seq: dict[str, int] = {}
        self._frontier = MerkleFrontier()
        self.append(
            self.admin, "key.registered", name=self.admin.name, vkey=self.admin.vkey, role="admin"
        )

    def key(self, label: str, role: str) -> Ed25519Signer:
        """Make a key under the origin and register it with an admin-signed entry."""
        signer = Ed25519Signer.from_seed(f"{self.origin}/{role}/{label}", _seed(label))
        self.append(self.admin, "key.registered", name=signer.name, vkey=signer.vkey, role=role)
        return signer

    def event(self, signer: Ed25519Signer, type_: str, **fields: object) -> dict[str, object]:
        """The next event of ``signer`` (its seq advanced), not yet appended."""
        seq = self._seq.get(signer.name, 0) + 1
        self._seq[signer.name] = seq
        return {
            "v": 1,
            "log": self.origin,
            "type": type_,
            "ts": TS + len(self.entries),
            "actor": signer.name,
            "seq": seq,
        } | fields

    def append(self, signer: Ed25519Signer, type_: str, **fields: object) -> int:
        return self.append_bytes(make_entry(signer, self.event(signer, type_, **fields)))

    def append_bytes(self, data: bytes) -> int:
        self.entries.append(data)
        self._frontier.append(leaf_hash(data))
        return len(self.entries) - 1

    def blob(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        self.blobs[sha] = data
        return sha

    def checkpoint(self) -> bytes:
        """Sign (and cosign) a checkpoint of the log as it is now; record it."""
        cp = Checkpoint(self.origin, self._frontier.size, self._frontier.root())
        note = sign_checkpoint(cp, [self.log_key])
        lines = [cosign_checkpoint(note, self.log_key.verifier, w) for w in self.witness_keys]
        note = add_cosignatures(note, lines)
        self.checkpoints.append(note)
        return note

    def policy(self) -> Policy:
        return Policy.build(
            log=self.log_key.vkey,
            witnesses=[w.vkey for w in self.witness_keys],
            quorum=self.quorum,
            admins=[self.admin.vkey],
            beacons=self.beacons,
        )

    def files(self, at: int | None = None) -> dict[str, bytes]:
        """Every file of the bundle by relative path, for the newest checkpoint — or as it was
        exported when checkpoint ``at`` (an ordinal) was the newest."""
        if not self.checkpoints or self.checkpoints[-1] is None:
            raise RuntimeError("sign a checkpoint before writing the bundle")
        notes = self.checkpoints if at is None else self.checkpoints[: at + 1]
        size = parse_checkpoint_text(parse_note(notes[-1]).text).size
        files = {"policy": render_policy(self.policy()), "checkpoint": notes[-1]}
        for ordinal, note in enumerate(notes):
            files[f"checkpoints/{ordinal:012d}"] = note
        files.update(bundle_files(self.entries[:size]))
        for sha, data in self.blobs.items():
            files[f"blobs/{sha}"] = data
        return files

    def write(self, root: Path) -> Path:
        return write_files(root, self.files())


def write_files(root: Path, files: dict[str, bytes]) -> Path:
    """Write ``files`` (relative path → bytes) under ``root``."""
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def demo_log(entries: int = 20, checkpoint_every: int = 7) -> LogBuilder:
    """A small valid log: an admin, two demo keys, ``entries`` entries in all, checkpoints."""
    log = LogBuilder()
    keys = [log.key("d1", "demo"), log.key("d2", "demo")]
    while len(log.entries) < entries:
        log.append(keys[len(log.entries) % 2], "demo.event", n=len(log.entries))
        if len(log.entries) % checkpoint_every == 0:
            log.checkpoint()
    if len(log.entries) % checkpoint_every:
        log.checkpoint()
    return log


def entries_some_unprovable() -> list[bytes]:
    """Thirty valid entries, then one signed by a key of a registered name that was never
    registered, then bytes that are no entry: what a prover must answer None for."""
    log = demo_log(30)
    impostor = Ed25519Signer.from_seed(f"{ORIGIN}/demo/d1", bytes(range(32)))
    log.append(impostor, "demo.event", n=7)  # no registered key verifies it
    log.append_bytes(b"not an entry\n")
    return log.entries


def read_files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by relative path (a bundle written to disk, read back)."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def cut_back(files: dict[str, bytes], ordinal: int) -> dict[str, bytes]:
    """The bundle ``files`` rolled back to its listed checkpoint ``ordinal``: that checkpoint on
    top, the later ones and the entries they cover gone, as a log-key holder would export it."""
    note = files[f"checkpoints/{ordinal:012d}"]
    size = parse_checkpoint_text(parse_note(note).text).size
    entries: list[bytes] = []
    n = 0
    while len(entries) < size:
        full = f"tile/entries/{encode_tile_index(n)}"
        partial = [p for p in files if p.startswith(full + ".p/")]
        path = full if full in files else max(partial, key=_width)
        entries += decode_entry_bundle(files[path])
        n += 1
    kept = {
        path: data
        for path, data in files.items()
        if path == "policy"
        or path.startswith("blobs/")
        or (path.startswith("checkpoints/") and int(path.split("/")[1]) <= ordinal)
    }
    return kept | {"checkpoint": note} | bundle_files(entries[:size])


def _width(path: str) -> int:
    return int(path.rsplit("/", 1)[1])
