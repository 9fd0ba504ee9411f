"""``examctl`` builds one command group's parser for a run of that command, all of them
otherwise; the table that says which module adds which command cannot drift from the modules."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from api.cli.arguments import OneLineParser
from api.cli.main import GROUPS, build_parser, main

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("module", sorted(GROUPS))
def test_each_module_adds_exactly_the_commands_the_table_names(module: str) -> None:
    parser = OneLineParser(prog="examctl")
    commands = parser.add_subparsers(dest="command")
    importlib.import_module(f"api.cli.{module}").register(commands)
    assert list(commands.choices) == list(GROUPS[module])


def _commands(parser: argparse.ArgumentParser) -> list[str]:
    sub = next(a for a in parser._actions if a.dest == "command")
    assert isinstance(sub.choices, dict), sub
    return list(sub.choices)


def test_the_whole_parser_lists_every_command_in_order() -> None:
    assert _commands(build_parser()) == [c for group in GROUPS.values() for c in group]
    assert _commands(build_parser("no-such-command")) == _commands(build_parser())


def test_a_command_builds_its_group_alone() -> None:
    assert _commands(build_parser("audit")) == ["audit"]
    assert _commands(build_parser("emulate")) == ["emulate", "devices", "gateway"]


def test_a_run_of_audit_imports_neither_the_http_service_nor_its_client() -> None:
    probe = (
        "import sys; from api.cli.main import main\n"
        "try: main(['audit', '--help'])\n"
        "except SystemExit: pass\n"
        "print(sorted(m for m in ('fastapi', 'uvicorn', 'segno', 'httpx') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    ).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_an_unknown_command_is_a_usage_error_listing_every_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["no-such-command"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice" in err
    assert "monitor" in err
    assert "audit" in err
