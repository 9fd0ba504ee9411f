"""A centre's configuration, ``centre.json``: what the centre is and how it runs.

The origin, the administrator keys it pins, the log key, the database, batching and clock-skew
bounds, the witnesses with their quorum, and the beacon keys it pins.  The file is written
once by ``Centre.create`` (and again by ``Centre.add_witness`` and ``Centre.add_beacon``) and
parsed strictly here on every open: exactly its fields, each of its type and range, so that a
hand-edited or damaged file is refused with the field it got wrong rather than half-used.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from exam_core.centre.sequencer import DEFAULT_MAX_AGE_MS, DEFAULT_MAX_BATCH
from exam_core.errors import CanonicalError, CheckpointError, KeyFormatError, StoreError
from exam_core.input_file import read_input_file
from exam_core.log.canonical import parse_strict_json
from exam_core.log.names import check_key_under_origin, check_origin
from exam_core.log.note import ed25519_verifier_from_vkey, parse_vkey
from exam_core.log.policy import Policy
from exam_core.log.registry import DEFAULT_MAX_SKEW_MS

CONFIG_FILE = "centre.json"
DEFAULT_DB_FILE = "log.db"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class WitnessConfig:
    """A witness the centre's checkpoints are sent to: its ``cosignature/v1`` vkey and the URL
    prefix under which it serves ``add-checkpoint`` (tlog-witness's submission prefix)."""

    vkey: str
    url: str

    @property
    def name(self) -> str:
        return parse_vkey(self.vkey).name


@dataclass(frozen=True)
class CentreConfig:
    """The contents of ``centre.json``."""

    origin: str
    admin: str
    pinned_admins: tuple[str, ...]
    log_vkey: str
    database_url: str | None = None
    """None: the SQLite file ``log.db`` in the centre directory."""
    max_skew_ms: int = DEFAULT_MAX_SKEW_MS
    max_batch: int = DEFAULT_MAX_BATCH
    max_age_ms: int = DEFAULT_MAX_AGE_MS
    version: int = FORMAT_VERSION
    extra: Mapping[str, Any] = field(default_factory=dict)
    witnesses: tuple[WitnessConfig, ...] = ()
    """The witnesses of the centre's policy, in the order they were named."""
    quorum: int | None = None
    """How many of them must cosign a checkpoint; None: every witness named."""
    beacons: tuple[str, ...] = ()
    """The hash-chain beacon keys the policy pins (``beacon <vkey>``): a manifest's beacon
    commitment must be signed by one of them."""

    def to_json(self) -> bytes:
        body = asdict(self)
        body["pinned_admins"] = list(self.pinned_admins)
        body["extra"] = dict(self.extra)
        body["witnesses"] = [asdict(w) for w in self.witnesses]
        if self.beacons:
            body["beacons"] = list(self.beacons)
        else:  # a centre that pins no beacon keeps the file it had
            del body["beacons"]
        return json.dumps(body, indent=2, sort_keys=True).encode() + b"\n"

    @classmethod
    def from_json(cls, data: bytes) -> CentreConfig:
        """Parse ``centre.json`` strictly: exactly its fields, each of its type and range.

        Raises:
            StoreError: the bytes are not strict JSON (``parse_strict_json``), a field is
                missing, unknown, of the wrong type or out of range, or a key is malformed.
        """
        try:
            body = parse_strict_json(data)
        except CanonicalError as e:
            raise StoreError(f"{CONFIG_FILE} is not JSON: {e}") from e
        if not isinstance(body, dict) or body.get("version") != FORMAT_VERSION:
            raise StoreError(f"{CONFIG_FILE} is not a version {FORMAT_VERSION} centre config")
        unknown = sorted(set(body) - _CONFIG_FIELDS)
        if unknown:
            raise StoreError(f"{CONFIG_FILE} has unknown fields {unknown}")
        admins = _field(body, "pinned_admins", list)
        if not 1 <= len(admins) <= MAX_PINNED_ADMINS:
            raise StoreError(f"{CONFIG_FILE}: pinned_admins lists 1 to {MAX_PINNED_ADMINS} vkeys")
        database_url = body.get("database_url")
        if database_url is not None and not (
            isinstance(database_url, str) and 0 < len(database_url) <= MAX_DATABASE_URL
        ):
            raise StoreError(f"{CONFIG_FILE}: database_url is null or a URL string")
        config = cls(
            origin=_field(body, "origin", str),
            admin=_field(body, "admin", str),
            pinned_admins=tuple(_vkey(v, "pinned_admins") for v in admins),
            log_vkey=_vkey(_field(body, "log_vkey", str), "log_vkey"),
            database_url=database_url,
            max_skew_ms=_bounded(body, "max_skew_ms", DEFAULT_MAX_SKEW_MS, 0, MAX_SKEW_LIMIT_MS),
            max_batch=_bounded(body, "max_batch", DEFAULT_MAX_BATCH, 1, MAX_BATCH_LIMIT),
            max_age_ms=_bounded(body, "max_age_ms", DEFAULT_MAX_AGE_MS, 0, MAX_AGE_LIMIT_MS),
            extra=_field(body, "extra", dict) if "extra" in body else {},
            witnesses=_witnesses(body.get("witnesses", [])),
            quorum=None
            if body.get("quorum") is None
            else _bounded(body, "quorum", 1, 1, MAX_WITNESSES),
            beacons=_beacons(body.get("beacons", [])),
        )
        try:
            check_origin(config.origin)
            check_key_under_origin(config.admin, config.origin)
        except KeyFormatError as e:
            raise StoreError(f"{CONFIG_FILE}: {e}") from e
        return config


_CONFIG_FIELDS = frozenset(
    {
        "origin",
        "admin",
        "pinned_admins",
        "log_vkey",
        "database_url",
        "max_skew_ms",
        "max_batch",
        "max_age_ms",
        "version",
        "extra",
        "witnesses",
        "quorum",
        "beacons",
    }
)
MAX_BATCH_LIMIT = 65_536
"""A batch is one transaction; larger ones only delay every caller's receipt."""
MAX_AGE_LIMIT_MS = 60_000
MAX_SKEW_LIMIT_MS = 86_400_000
MAX_PINNED_ADMINS = 256
MAX_DATABASE_URL = 4096
MAX_CONFIG_BYTES = 1 << 20
"""``centre.json`` is a few hundred bytes; the reader refuses anything near this."""

_T = TypeVar("_T")


def _field(body: Mapping[str, object], name: str, kind: type[_T]) -> _T:
    value = body.get(name)
    if not isinstance(value, kind) or isinstance(value, bool) != (kind is bool):
        raise StoreError(f"{CONFIG_FILE} lacks or mistypes a field: {name} ({kind.__name__})")
    return value


def _bounded(body: Mapping[str, object], name: str, default: int, low: int, high: int) -> int:
    value = body.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise StoreError(f"{CONFIG_FILE}: {name} must be an integer within {low}..{high}")
    return value


MAX_WITNESSES = 64
MAX_WITNESS_URL = 2048


def _witnesses(value: object) -> tuple[WitnessConfig, ...]:
    if not isinstance(value, list) or len(value) > MAX_WITNESSES:
        raise StoreError(f"{CONFIG_FILE}: witnesses lists at most {MAX_WITNESSES} witnesses")
    found: list[WitnessConfig] = []
    for item in value:
        if not isinstance(item, dict) or set(item) != {"vkey", "url"}:
            raise StoreError(f"{CONFIG_FILE}: a witness is an object with vkey and url")
        url = item["url"]
        if not isinstance(url, str) or not 0 < len(url) <= MAX_WITNESS_URL:
            raise StoreError(f"{CONFIG_FILE}: a witness url is a string of a URL")
        vkey = item["vkey"]
        if not isinstance(vkey, str):
            raise StoreError(f"{CONFIG_FILE}: a witness vkey is a string")
        found.append(WitnessConfig(vkey=vkey, url=url))
    return tuple(found)


MAX_BEACONS = 16


def _beacons(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > MAX_BEACONS:
        raise StoreError(f"{CONFIG_FILE}: beacons lists at most {MAX_BEACONS} vkeys")
    return tuple(_vkey(v, "beacons") for v in value)


def _vkey(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise StoreError(f"{CONFIG_FILE}: {name} holds a non-string")
    try:
        ed25519_verifier_from_vkey(value)
    except KeyFormatError as e:
        raise StoreError(f"{CONFIG_FILE}: {name}: {e}") from e
    return value


def load_config(root: Path) -> CentreConfig:
    """The configuration of the centre in ``root``, read through the bounded reader.

    Raises:
        StoreError: ``root`` is not a centre directory or its configuration is unreadable.
    """
    if not os.path.lexists(root / CONFIG_FILE):
        raise StoreError(f"{root} is not a centre directory (no {CONFIG_FILE})")
    return CentreConfig.from_json(
        read_input_file(root / CONFIG_FILE, limit=MAX_CONFIG_BYTES, what="centre config")
    )


def database_url(root: Path, config: CentreConfig) -> str:
    """The URL of the centre's database: the configured one, or ``log.db`` in ``root``."""
    if config.database_url is not None:
        return config.database_url
    return f"sqlite:///{(root / DEFAULT_DB_FILE).resolve()}"


def full_key_name(origin: str, name: str) -> str:
    """A full key or actor name: ``name`` itself when under ``origin``, else relative to it.

    A name whose first segment holds a dot (``other.example/...``) is a full name and must be
    under the origin; the origin itself names the log key.

    Raises:
        StoreError: the name is empty, outside the origin, or has an empty, ``.``, ``..`` or
            ill-formed segment (``exam_core.log.names``).
    """
    full = name
    if name != origin and not name.startswith(origin + "/"):
        if "." in name.partition("/")[0].strip("."):
            raise StoreError(f"invalid key name {name!r}: outside the origin {origin}")
        full = f"{origin}/{name}"
    if full == origin:
        return full
    try:
        check_key_under_origin(full, origin)
    except KeyFormatError as e:
        raise StoreError(f"invalid key name {name!r}: {e}") from e
    return full


def policy_of(config: CentreConfig) -> Policy:
    """The tlog-policy a centre's configuration describes.

    Raises:
        CheckpointError: a witness vkey is malformed or named twice, or the quorum is not
            between 1 and the number of witnesses.
    """
    witnesses = config.witnesses
    quorum = len(witnesses) if config.quorum is None else config.quorum
    if witnesses and not 1 <= quorum <= len(witnesses):
        raise CheckpointError(f"a quorum of {quorum} of {len(witnesses)} witnesses")
    return Policy.build(
        log=config.log_vkey,
        witnesses=[w.vkey for w in witnesses],
        witness_urls=[w.url for w in witnesses],
        quorum=quorum if witnesses else 0,
        admins=config.pinned_admins,
        beacons=config.beacons,
    )
