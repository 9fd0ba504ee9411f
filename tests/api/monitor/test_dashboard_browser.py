"""The dashboard in a real headless Chromium (Debian's ``chromium`` and ``chromium-driver``).

``make browser`` installs them (``make test`` runs it first); without them these tests are
skipped with that reason.  Selenium drives the system's chromedriver directly (no Selenium
Manager, no download).  The monitor is real: a mirrored centre that rewrote entry 5 has a red
warning; the test clicks through it to its evidence and reads what the page shows, asks the
page to verify the entry again, and checks that a centre's hostile note is shown as text and
runs nothing.  Then a new warning recorded while the page is open appears without a reload.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from api.monitor.app import create_app
from api.monitor.server import BackgroundServer
from exam_core.monitoring.home import Monitor
from exam_core.monitoring.signals import Signal
from exam_core.monitoring.warnings import Subject, warning_id
from tests.api.monitor.dashboard_scene import HOSTILE, ORIGIN, REWRITTEN, Scene, mirrored_scene
from tests.api.monitor.static_log import StaticLogs
from tests.exam_core.monitoring.conftest import (  # noqa: F401 - shared fixtures
    SecondsClock,
    clock,
    monitor_dir,
    open_again,
)

CHROMIUM = Path(os.environ.get("EXAM_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("EXAM_CHROMEDRIVER", "/usr/bin/chromedriver"))
WAIT_S = 30

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is a test extra")
if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip(
        f"no {CHROMIUM} or {CHROMEDRIVER}: `make browser` installs them (apt-get, as root)",
        allow_module_level=True,
    )

from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture
def scene(open_again: Callable[[], Monitor], clock: SecondsClock) -> Iterator[Scene]:  # noqa: F811
    static = StaticLogs()
    with BackgroundServer(static.app) as logs, httpx.Client(timeout=10) as client:
        yield mirrored_scene(open_again(), static, logs.url, clock, client)


@pytest.fixture
def served(scene: Scene) -> Iterator[str]:
    with BackgroundServer(create_app(scene.monitor)) as server:
        yield server.url


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WebDriver]:
    monkeypatch.setenv("SE_OFFLINE", "true")  # never let Selenium Manager reach the network
    options = Options()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--user-data-dir={tmp_path / 'chromium'}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver: WebDriver) -> WebDriverWait[WebDriver]:
    return WebDriverWait(driver, WAIT_S)


def test_clicking_a_red_warning_shows_its_evidence_decoded_and_verified(
    scene: Scene, served: str, browser: WebDriver
) -> None:
    browser.get(f"{served}/dashboard")
    assert browser.find_element(By.ID, "open-red").text.endswith("1")
    red = browser.find_element(By.CSS_SELECTOR, "tr.warning[data-level='red']")
    assert ORIGIN in red.text
    red.find_element(By.CSS_SELECTOR, "a.evidence").click()

    heading = wait(browser).until(lambda d: d.find_element(By.ID, "warning"))
    assert heading.get_attribute("data-level") == "red"
    signals = browser.find_elements(By.CSS_SELECTOR, "#signals tr.signal")
    assert len(signals) == 1
    assert "log_rewritten" in signals[0].text
    assert f"#{REWRITTEN}" in signals[0].text
    [entry] = browser.find_elements(By.CSS_SELECTOR, "section.entry")
    assert entry.get_attribute("data-index") == str(REWRITTEN)
    assert entry.find_element(By.CSS_SELECTOR, "a.entry-index").text == f"#{REWRITTEN}"
    fields = {
        f.get_attribute("data-field"): f.text
        for f in entry.find_elements(By.CSS_SELECTOR, "td.field")
    }
    # The copy the mirror verified: what the centre first signed, not its rewrite.
    assert fields["type"] == "demo.event"
    assert fields["n"] == str(REWRITTEN)
    assert fields["log"] == ORIGIN
    size = len(scene.log.entries) - 1
    result = entry.find_element(By.CSS_SELECTOR, ".verify-result").text
    assert result == f"verified: included in the checkpoint of size {size}, signed by the centre"

    entry.find_element(By.CSS_SELECTOR, "button.verify").click()
    live = entry.find_element(By.CSS_SELECTOR, ".verify-live")
    wait(browser).until(lambda _: live.text.startswith("verified again"))
    assert live.text == f"verified again: entry {REWRITTEN} is in the checkpoint of size {size}"

    # The entry's own page, through its link: the checkpoint and the proof.
    entry.find_element(By.CSS_SELECTOR, "a.entry-index").click()
    wait(browser).until(lambda d: "Inclusion proof" in d.find_element(By.TAG_NAME, "body").text)
    assert f"{ORIGIN}\n{size}\n" in browser.find_element(By.ID, "checkpoint").text


def test_a_centres_hostile_note_is_text_and_runs_nothing(
    scene: Scene, served: str, browser: WebDriver
) -> None:
    log_hash = hashlib.sha256(ORIGIN.encode()).hexdigest()
    browser.get(f"{served}/dashboard/entries/{log_hash}/{scene.hostile_index}")
    note = browser.find_element(By.CSS_SELECTOR, "td.field[data-field='note']")
    assert note.text == HOSTILE
    assert browser.title != "pwned"
    assert browser.execute_script("return document.body.dataset.pwned") is None
    assert browser.find_elements(By.CSS_SELECTOR, "td.field img, td.field script") == []
    browser.get(f"{served}/dashboard")  # the room's refused gate gives the same text as reason
    room = browser.find_element(By.CSS_SELECTOR, "#rooms tr.room")
    assert HOSTILE in room.text
    assert browser.title != "pwned"
    assert browser.execute_script("return document.body.dataset.pwned") is None
    assert browser.find_elements(By.CSS_SELECTOR, "#panels img, #panels script") == []


def test_a_new_warning_appears_without_a_reload(
    scene: Scene, served: str, browser: WebDriver
) -> None:
    browser.get(f"{served}/dashboard")
    browser.execute_script("window.sameDocument = 42;")
    examiner = "examiner-new"
    wid = warning_id(Subject("examiner", ORIGIN, examiner))
    assert browser.find_elements(By.CSS_SELECTOR, f"tr.warning[data-id='{wid}']") == []
    now = time.time_ns() // 1_000_000
    stop = Signal(
        source="emergency_stop",
        centre=ORIGIN,
        at_ms=now,
        entries=(scene.live_index,),
        message=f"entry {scene.live_index}: exam stopped: danger",
        examiner=examiner,
    )
    assert scene.feed.store.record_signals([stop], now) == 1

    row = wait(browser).until(
        lambda d: d.find_element(By.CSS_SELECTOR, f"tr.warning[data-id='{wid}']")
    )
    assert row.get_attribute("data-level") == "blue"
    assert examiner in row.text
    assert browser.execute_script("return window.sameDocument") == 42
    assert browser.find_element(By.ID, "open-blue").text.endswith("1")
