"""``examctl admin import`` through the real dispatcher, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.cli.main import main
from exam_core.db.engine import make_engine
from exam_core.db.exam_day import Candidate, Examiner, Room
from exam_core.exam_day.secret import SECRET_FILE, read_centre_secret
from tests.api.cli.test_log import run
from tests.exam_core.exam_day import roster_files as rf


@pytest.fixture
def centre_dir(tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]) -> Path:
    root = tmp_path / "centre"
    code, _, _ = run(
        capsys, "init", "--dir", str(root), "--origin", rf.ORIGIN, "--database-url", db_url
    )
    assert code == 0
    return root


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def rows(db_url: str, model: type) -> int:
    engine = make_engine(db_url)
    try:
        with Session(engine) as db:
            return int(db.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        engine.dispose()


def test_import_creates_the_secret_and_imports(
    centre_dir: Path, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    examiners = write(tmp_path, "examiners.csv", rf.EXAMINERS)
    code, out, _ = run(
        capsys, "admin", "import", "--dir", str(centre_dir), "examiners", str(examiners)
    )
    assert code == 0
    assert out.strip() == f"imported 3 examiners from {examiners}"
    assert stat.S_IMODE((centre_dir / SECRET_FILE).stat().st_mode) == 0o600
    write(tmp_path, "c1.jpg", rf.JPEG)
    candidates = write(tmp_path, "candidates.csv", rf.CANDIDATES)
    code, out, _ = run(
        capsys, "admin", "import", "--dir", str(centre_dir), "candidates", str(candidates)
    )
    assert code == 0
    assert rows(db_url, Examiner) == 3
    assert rows(db_url, Candidate) == 3
    secret = read_centre_secret(centre_dir)
    engine = make_engine(db_url)
    try:
        with Session(engine) as db:
            photo = db.scalars(
                select(Candidate).where(Candidate.id_number == rf.id_number(1))
            ).one()
            assert photo.photo is not None
            assert secret.open_photo(photo.id, photo.photo) == rf.JPEG
            assert photo.id_hash == secret.id_hash(rf.id_number(1))
    finally:
        engine.dispose()


def test_a_refused_file_lists_its_lines_and_imports_nothing(
    centre_dir: Path, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(
        tmp_path,
        "examiners.csv",
        rf.csv("examiner_id,name,classes", "E01,李四,C1", "E02,王五,C9", "E01,赵六,C1"),
    )
    code, out, err = run(capsys, "admin", "import", "--dir", str(centre_dir), "examiners", str(bad))
    assert code == 2
    assert out == ""
    assert err.splitlines() == [
        f"examctl: {bad}: refused, nothing imported:",
        "  line 3: classes: 'C9' is not a licence class",
        "  line 4: examiner_id E01 is also on line 2",
    ]
    assert rows(db_url, Examiner) == 0


def test_sessions_need_a_configured_room(
    centre_dir: Path, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sessions = write(tmp_path, "sessions.csv", rf.SESSIONS)
    code, _, err = run(
        capsys, "admin", "import", "--dir", str(centre_dir), "sessions", str(sessions)
    )
    assert code == 2
    assert "room: field-1 is not configured" in err
    assert rows(db_url, Room) == 0


def test_a_lost_secret_is_not_silently_replaced(
    centre_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    examiners = write(tmp_path, "examiners.csv", rf.EXAMINERS)
    assert (
        run(capsys, "admin", "import", "--dir", str(centre_dir), "examiners", str(examiners))[0]
        == 0
    )
    (centre_dir / SECRET_FILE).unlink()
    candidates = write(tmp_path, "candidates.csv", rf.CANDIDATES.replace(b",c1.jpg", b","))
    code, _, err = run(
        capsys, "admin", "import", "--dir", str(centre_dir), "candidates", str(candidates)
    )
    assert code == 2
    assert "restore it from the backup" in err
    assert not (centre_dir / SECRET_FILE).exists()


def test_missing_file_and_unknown_kind(
    centre_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "admin", "import", "--dir", str(centre_dir), "vehicles", str(tmp_path / "no.csv")
    )
    assert code == 2
    assert "Traceback" not in err
    with pytest.raises(SystemExit):
        main(["admin", "import", "--dir", str(centre_dir), "rooms", str(tmp_path / "x.csv")])


def test_an_import_from_a_fifo_is_refused_without_waiting(
    centre_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "examiners.csv"
    os.mkfifo(fifo)  # nobody writes: a reader that opened it would wait for ever
    code, _, err = run(capsys, "admin", "import", "--dir", str(centre_dir), "examiners", str(fifo))
    assert code == 2
    assert "is a FIFO; a regular file is expected" in err


@pytest.mark.parametrize(
    ("content", "why"),
    [(b"[" * 30_000 + b"]" * 30_000, "not JSON"), (b'{"room": 1.5}', "not JSON")],
)
def test_a_hostile_room_file_is_one_clear_error(
    centre_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, why: str
) -> None:
    room = write(tmp_path, "room.json", content)
    code, _, err = run(capsys, "admin", "room", "--dir", str(centre_dir), str(room))
    assert code == 2
    assert why in err
    assert "Traceback" not in err
