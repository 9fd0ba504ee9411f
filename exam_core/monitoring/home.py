"""A monitoring centre on disk: its configuration, its keys and its database.

    monitor.json   name, database URL (default: monitor.db here), key names, beacon period
    keys/          one private key file per role (mode 0600, folder 0700), and the beacon secret
    monitor.db     the SQLite database (unless monitor.json names a PostgreSQL one)

The monitoring centre cosigns in two roles and signs beacon commitments in a third; a
``cosignature/v1`` signature does not name its cosigner, so each role has a key and a name of
its own (tlog-cosignature; tlog-mirror: a witness and a mirror run by one operator are distinct
cosigners): ``<name>/witness``, ``<name>/mirror`` and ``<name>/beacon``.

``Monitor`` is the opened centre that the HTTP face serves: the store, the witness, the beacon.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from exam_core.centre.centre import key_file_name
from exam_core.centre.durable import write_new
from exam_core.centre.keys import (
    read_key_file,
    read_owner_only_file,
    write_key_file,
    write_owner_only_file,
)
from exam_core.db.engine import make_engine
from exam_core.errors import KeyFormatError, StoreError
from exam_core.log.cosignature import CosignatureSigner
from exam_core.log.note import Ed25519Signer, check_key_name, ed25519_verifier_from_vkey
from exam_core.monitoring.beacon import DEFAULT_PERIOD_MS, SECRET_SIZE, MonitorBeacon
from exam_core.monitoring.mirror import DEFAULT_INTERVAL_MS, DEFAULT_SILENCE_MS, Mirror
from exam_core.monitoring.mirror_store import MirrorStore
from exam_core.monitoring.store import KnownLog, MonitorStore
from exam_core.monitoring.witness import Witness

__all__ = ["Monitor", "MonitorConfig", "create_monitor", "open_monitor"]

CONFIG_FILE = "monitor.json"
KEYS_DIR = "keys"
BEACON_SECRET_FILE = "beacon-secret"  # noqa: S105 - a file name, not a secret
DEFAULT_DB_FILE = "monitor.db"
FORMAT_VERSION = 1
ROLES = ("witness", "mirror", "beacon")


@dataclass(frozen=True)
class MonitorConfig:
    """The contents of ``monitor.json``."""

    name: str
    database_url: str | None = None
    """None: the SQLite file ``monitor.db`` in the monitor's directory."""
    beacon_period_ms: int = DEFAULT_PERIOD_MS
    version: int = FORMAT_VERSION
    mirror_interval_ms: int = DEFAULT_INTERVAL_MS
    """How often the mirror pulls each centre."""
    mirror_silence_ms: int = DEFAULT_SILENCE_MS
    """How long a centre may not answer before its silence is a finding."""

    def key_name(self, role: str) -> str:
        """The key name of a role: ``<name>/witness``, ``<name>/mirror`` or ``<name>/beacon``.

        Raises:
            RuntimeError: ``role`` is none of those (a caller bug).
        """
        if role not in ROLES:
            raise RuntimeError(f"no monitor role {role!r}")
        return f"{self.name}/{role}"

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode() + b"\n"

    @classmethod
    def from_json(cls, data: bytes) -> MonitorConfig:
        """Read ``monitor.json``.

        Raises:
            StoreError: it is not JSON, not version 1, or lacks or mistypes a field.
        """
        try:
            body = json.loads(data)
        except (ValueError, UnicodeDecodeError) as e:
            raise StoreError(f"{CONFIG_FILE} is not JSON: {e}") from e
        if not isinstance(body, dict) or body.get("version") != FORMAT_VERSION:
            raise StoreError(f"{CONFIG_FILE} is not a version {FORMAT_VERSION} monitor config")
        try:
            url = body.get("database_url")
            return cls(
                name=str(body["name"]),
                database_url=None if url is None else str(url),
                beacon_period_ms=int(body.get("beacon_period_ms", DEFAULT_PERIOD_MS)),
                mirror_interval_ms=int(body.get("mirror_interval_ms", DEFAULT_INTERVAL_MS)),
                mirror_silence_ms=int(body.get("mirror_silence_ms", DEFAULT_SILENCE_MS)),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise StoreError(f"{CONFIG_FILE} lacks or mistypes a field: {e}") from e


def _database_url(root: Path, config: MonitorConfig) -> str:
    if config.database_url is not None:
        return config.database_url
    return f"sqlite:///{(root / DEFAULT_DB_FILE).resolve()}"


def create_monitor(
    root: Path | str,
    name: str,
    *,
    database_url: str | None = None,
    passphrase: bytes | None = None,
    beacon_period_ms: int = DEFAULT_PERIOD_MS,
) -> MonitorConfig:
    """Create a monitoring centre in the new directory ``root``: keys, secret, database.

    The database is migrated first, so a database that cannot be reached leaves no keys behind.

    Raises:
        StoreError: ``root`` is not empty, the name is invalid, or the database cannot be reached.
        OSError: a file cannot be written.
    """
    root = Path(root)
    config = MonitorConfig(name, database_url, beacon_period_ms)
    try:
        check_key_name(name)
        for role in ROLES:
            check_key_name(config.key_name(role))
        MonitorBeacon(Ed25519Signer.generate(name), bytes(SECRET_SIZE), period_ms=beacon_period_ms)
    except (KeyFormatError, ValueError) as e:
        raise StoreError(f"invalid monitor settings: {e}") from e
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        raise StoreError(f"{root} is not empty; a monitor is created in a new directory")
    MonitorStore.open(make_engine(_database_url(root, config))).close()
    keys = root / KEYS_DIR
    keys.mkdir(mode=0o700)
    for role in ROLES:
        key_name = config.key_name(role)
        write_key_file(keys / key_file_name(key_name), Ed25519Signer.generate(key_name), passphrase)
    write_owner_only_file(keys / BEACON_SECRET_FILE, secrets.token_bytes(SECRET_SIZE))
    write_new(root / CONFIG_FILE, config.to_json())
    return config


class Monitor:
    """An opened monitoring centre: its configuration, database, witness, mirror and beacon."""

    def __init__(
        self,
        *,
        root: Path,
        config: MonitorConfig,
        store: MonitorStore,
        witness: Witness,
        beacon: MonitorBeacon,
        mirror_vkey: str,
        mirror: Mirror,
    ) -> None:
        self.root = root
        self.config = config
        self.store = store
        self.witness = witness
        self.beacon = beacon
        self.mirror_vkey = mirror_vkey
        self.mirror = mirror

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_log(self, vkey: str, url: str | None, now_ms: int) -> KnownLog:
        """Watch the log of ``vkey`` (its key name is the origin), served under ``url``.

        Raises:
            KeyFormatError: the vkey is malformed or not an Ed25519 note key.
            StoreError: the origin is watched already with another key or URL.
        """
        origin = ed25519_verifier_from_vkey(vkey).name
        log = KnownLog(origin, vkey, url)
        self.store.add_log(log, now_ms)
        return log


def open_monitor(
    root: Path | str,
    *,
    passphrase: bytes | None = None,
    clock_s: Callable[[], int] | None = None,
    clock_ms: Callable[[], int] | None = None,
) -> Monitor:
    """Open the monitoring centre in ``root``.

    Raises:
        StoreError: ``root`` holds no monitor, or its database cannot be opened.
        KeyFormatError: a key file is missing, unreadable or not the role's key.
    """
    root = Path(root)
    try:
        config = MonitorConfig.from_json((root / CONFIG_FILE).read_bytes())
    except FileNotFoundError as e:
        raise StoreError(f"{root} is not a monitor directory (no {CONFIG_FILE})") from e
    keys = root / KEYS_DIR
    loaded = {
        role: read_key_file(
            keys / key_file_name(config.key_name(role)), config.key_name(role), passphrase
        )
        for role in ROLES
    }
    secret = read_owner_only_file(keys / BEACON_SECRET_FILE, SECRET_SIZE, "the beacon secret")
    if len(secret) != SECRET_SIZE:
        raise KeyFormatError(f"the beacon secret is {len(secret)} bytes, not {SECRET_SIZE}")
    witness_key = loaded["witness"]
    cosigner = CosignatureSigner(witness_key.name, witness_key.private_key)
    mirror_key = loaded["mirror"]
    mirror_signer = CosignatureSigner(mirror_key.name, mirror_key.private_key)
    mirror_vkey = mirror_signer.vkey
    beacon = (
        MonitorBeacon(loaded["beacon"], secret, period_ms=config.beacon_period_ms)
        if clock_ms is None
        else MonitorBeacon(
            loaded["beacon"], secret, period_ms=config.beacon_period_ms, clock_ms=clock_ms
        )
    )
    store = MonitorStore.open(make_engine(_database_url(root, config)))
    witness = Witness(cosigner, store) if clock_s is None else Witness(cosigner, store, clock_s)
    mirror = Mirror(
        MirrorStore(store.engine),
        store,
        mirror_signer,
        interval_ms=config.mirror_interval_ms,
        silence_ms=config.mirror_silence_ms,
    )
    if clock_ms is not None:
        mirror.clock_ms = clock_ms
    return Monitor(
        root=root,
        config=config,
        store=store,
        witness=witness,
        beacon=beacon,
        mirror_vkey=mirror_vkey,
        mirror=mirror,
    )
