"""The emulator's pty link never replaces or removes what it did not make.

``examctl emulate jammer --pty EXISTING_FILE`` used to delete the file (and a file named
``EXISTING_FILE.new`` too): the link is now created only where nothing is, or over a link an
earlier emulator left, and removed only while it is still the emulator's own.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from api.cli.main import main
from devices.emulators import EmulatorServer, PtyEndpoint, make_responder
from devices.errors import DeviceConfigError


def _emulate(path: Path) -> int:
    return main(["emulate", "jammer", "--pty", str(path), "--duration-s", "0.01"])


def test_emulate_refuses_a_pty_path_that_is_an_existing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    precious = tmp_path / "precious.txt"
    precious.write_text("the only copy")
    assert _emulate(precious) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "exists and is not a pty link made by an emulator" in err
    assert precious.read_text() == "the only copy"


@pytest.mark.parametrize("kind", ["directory", "link elsewhere", "fifo"])
def test_emulate_refuses_any_other_existing_path_and_leaves_it(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "port"
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        (tmp_path / "target").write_text("kept")
        path.symlink_to(tmp_path / "target")
    with pytest.raises(DeviceConfigError, match="not a pty link"):
        PtyEndpoint(path).plug()
    assert os.path.lexists(path)
    if kind == "link elsewhere":
        assert path.read_text() == "kept"


def test_a_file_beside_the_link_named_like_a_temporary_is_left_alone(tmp_path: Path) -> None:
    beside = tmp_path / "port.new"
    beside.write_text("mine")
    with EmulatorServer(make_responder("jammer"), PtyEndpoint(tmp_path / "port")) as server:
        assert os.readlink(server.url).startswith("/dev/pts/")
    assert beside.read_text() == "mine"
    assert not os.path.lexists(tmp_path / "port")


def test_a_stale_link_of_an_earlier_emulator_is_replaced_and_then_removed(tmp_path: Path) -> None:
    path = tmp_path / "port"
    path.symlink_to("/dev/pts/999999")
    endpoint = PtyEndpoint(path)
    endpoint.plug()
    try:
        assert os.readlink(path) != "/dev/pts/999999"
        assert os.readlink(path).startswith("/dev/pts/")
    finally:
        endpoint.unplug()
    assert not os.path.lexists(path)
    assert [p.name for p in tmp_path.iterdir()] == []


def test_unplug_leaves_a_path_someone_else_has_put_there_since(tmp_path: Path) -> None:
    path = tmp_path / "port"
    endpoint = PtyEndpoint(path)
    endpoint.plug()
    path.unlink()
    path.write_text("someone else's")
    endpoint.unplug()
    assert path.read_text() == "someone else's"
