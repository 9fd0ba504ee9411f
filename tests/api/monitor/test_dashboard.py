"""The dashboard over real HTTP: what it shows of a mirrored centre that rewrote an entry, its
JSON twin, the evidence proved entry by entry, hostile entries escaped, and bad paths refused.

(The same page in a real browser: ``test_dashboard_browser.py``.)
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable, Iterator

import httpx
import pytest
import schemathesis
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from api.monitor.app import create_app
from api.monitor.server import BackgroundServer
from exam_core.monitoring.home import Monitor
from tests.api.http.test_fuzz import fuzz, operations
from tests.api.monitor.dashboard_scene import (
    EXAM_DONE,
    EXAM_LIVE,
    HOSTILE,
    ORIGIN,
    REWRITTEN,
    Scene,
    mirrored_scene,
)
from tests.api.monitor.static_log import StaticLogs
from tests.exam_core.monitoring.conftest import (  # noqa: F401 - shared fixtures
    SecondsClock,
    clock,
    monitor_dir,
    open_again,
)

LOG_HASH = hashlib.sha256(ORIGIN.encode()).hexdigest()


@pytest.fixture
def scene(open_again: Callable[[], Monitor], clock: SecondsClock) -> Iterator[Scene]:  # noqa: F811
    static = StaticLogs()
    with BackgroundServer(static.app) as logs, httpx.Client(timeout=10) as client:
        yield mirrored_scene(open_again(), static, logs.url, clock, client)


@pytest.fixture
def http(scene: Scene) -> Iterator[httpx.Client]:
    with (
        BackgroundServer(create_app(scene.monitor)) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        yield client


def red_warning(http: httpx.Client) -> dict[str, object]:
    state = http.get("/dashboard/api/state").json()
    [red] = [w for w in state["warnings"] if w["level"] == "red" and w["kind"] == "centre"]
    return dict(red)


def test_the_state_shows_the_centre_its_exams_rooms_and_red_warning(
    scene: Scene, http: httpx.Client
) -> None:
    state = http.get("/dashboard/api/state").json()
    [centre] = state["centres"]
    assert centre["origin"] == ORIGIN
    # The head stays on the last verified checkpoint: the rewritten history was refused.
    assert centre["tree_size"] == centre["entries"] == len(scene.log.entries) - 1
    assert centre["mirror_cosigned"] == centre["tree_size"]
    assert centre["newest_finding"] == "log_rewritten"
    assert [(x["exam"], x["started_index"]) for x in state["live_exams"]] == [
        (EXAM_LIVE, scene.live_index)
    ]
    assert EXAM_DONE not in {x["exam"] for x in state["live_exams"]}
    [room] = state["rooms"]
    assert room["room"] == "room-1"
    devices = {d["device"]: d for d in room["devices"]}
    assert devices["det-1"]["alarms"] == ["alarm:phone"]
    assert devices["jam-1"]["alarms"] == []
    assert devices["jam-1"]["state"] == "on"
    assert (room["gate_allowed"], room["gate_reasons"]) == (False, [HOSTILE])
    red = red_warning(http)
    assert red["entries"] == [REWRITTEN]
    assert state["open_by_level"]["red"] >= 1
    assert sum(state["timeline"][-1][lv] for lv in ("blue", "yellow", "orange", "red")) >= 1
    # The page is the same picture.
    page = http.get("/dashboard")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert f'data-id="{red["id"]}"' in page.text
    assert EXAM_LIVE in page.text


def test_a_warnings_evidence_is_decoded_and_proved(scene: Scene, http: httpx.Client) -> None:
    red = red_warning(http)
    evidence = http.get(f"/dashboard/api/warnings/{red['id']}").json()
    [entry] = evidence["entries"]
    assert entry["index"] == REWRITTEN
    assert entry["verified"] is True
    assert entry["event"]["n"] == REWRITTEN  # the mirror's copy: what the centre first signed
    assert entry["tree_size"] == len(scene.log.entries) - 1
    page = http.get(f"/dashboard/warnings/{red['id']}").text
    assert 'id="entry-5"' in page
    assert "verified: included in the checkpoint" in page
    # The centre can be asked for the same proof at its own endpoint.
    log = scene.monitor.store.log(ORIGIN)
    assert log is not None
    size = entry["tree_size"]
    assert f'href="{log.url}/proof/inclusion?index={REWRITTEN}&amp;size={size}"' in page
    # Each entry can be proved again on its own.
    again = http.get(f"/dashboard/api/entries/{LOG_HASH}/{REWRITTEN}").json()
    assert (again["verified"], again["leaf_hash"]) == (True, entry["leaf_hash"])


def test_an_entry_outside_the_copy_is_not_verified_and_says_why(http: httpx.Client) -> None:
    answer = http.get(f"/dashboard/api/entries/{LOG_HASH}/100000").json()
    assert answer["verified"] is False
    assert "holds entries 0.." in answer["problem"]


def test_hostile_fields_are_escaped_everywhere(scene: Scene, http: httpx.Client) -> None:
    page = http.get(f"/dashboard/entries/{LOG_HASH}/{scene.hostile_index}")
    assert page.status_code == 200
    assert "<script>document" not in page.text
    assert "<img src=x" not in page.text
    assert html.escape(HOSTILE, quote=True) in page.text
    # Only the monitor's own script is referenced.
    assert re.findall(r"<script[^>]*>", page.text) == [
        '<script src="/dashboard/dashboard.js" defer>'
    ]
    dashboard = http.get("/dashboard").text  # a gate's reason holds the same text
    assert html.escape(HOSTILE, quote=True) in dashboard
    assert "<img src=x" not in dashboard
    assert "<script>document" not in dashboard
    proof = http.get(f"/dashboard/api/entries/{LOG_HASH}/{scene.hostile_index}").json()
    assert proof["event"]["note"] == HOSTILE  # the JSON carries it as data


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/warnings/" + "0" * 32,
        "/dashboard/warnings/nothex",
        "/dashboard/warnings/" + "a" * 5000,
        "/dashboard/api/warnings/" + "0" * 32,
        "/dashboard/api/entries/" + "0" * 64 + "/0",
        f"/dashboard/api/entries/{LOG_HASH}/-1",
        f"/dashboard/api/entries/{LOG_HASH}/99999999999999999999999",
        "/dashboard/entries/%3Cscript%3E/0",
    ],
)
def test_bad_paths_are_refused_with_a_problem(http: httpx.Client, path: str) -> None:
    answer = http.get(path)
    assert answer.status_code in (400, 404, 414)
    # JSON, never HTML: a path echoed in the problem's ``instance`` is not markup anywhere.
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_the_openapi_documents_the_json_endpoints(http: httpx.Client) -> None:
    paths = http.get("/openapi.json").json()["paths"]
    for path in (
        "/dashboard/api/state",
        "/dashboard/api/warnings/{warning_id}",
        "/dashboard/api/entries/{log_hash}/{index}",
    ):
        assert "get" in paths[path]


def test_no_generated_request_to_the_dashboard_earns_a_server_error(scene: Scene) -> None:
    """Schemathesis over the dashboard's operations, fitting and breaking their schema."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(scene.monitor))
    dashboard = [op for op in operations(schema) if op.path.startswith("/dashboard")]
    assert len(dashboard) == 8
    seen: set[str] = set()
    for operation in dashboard:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzz(operation, mode, {}, seen)
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, operation.label
    assert any(" 2" in outcome for outcome in seen), sorted(seen)
