"""The app in a real browser: `streamlit run app.py` on a loopback port, driven by Playwright in
Debian's Chromium (tests/browser.py).  Opens the Scenario page, runs the simulation, checks the
chart is drawn with no error on the page or in the console, and saves a screenshot.  On the
Sweeps page, folders outside the workspace (PEAKPLAN_WORKSPACE, a temporary folder here) are
refused with one message, whether they exist or not.

PEAKPLAN_UPDATE_SCREENSHOTS=1 also copies the screenshot to docs/scenario_page.png (the
README's picture of the app).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from browser import browser_page, chromium_missing, open_page

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "docs" / "scenario_page.png"

MISSING = chromium_missing()
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(MISSING is not None, reason=f"BROWSER TEST NOT RUN: {MISSING}")]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app served by `streamlit run` on a free loopback port (one server for the tests of
    this module, stopped afterwards), its workspace the empty folder ``ws``."""
    tmp_path = tmp_path_factory.mktemp("app")
    port = free_port()
    log = (tmp_path / "streamlit.log").open("w")
    (tmp_path / "ws").mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "PEAKPLAN_WORKSPACE": str(tmp_path / "ws")})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited with {proc.returncode}: "
                            f"{(tmp_path / 'streamlit.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("streamlit did not answer within 90 s")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_scenario_page_runs_a_simulation_in_chromium(app_url, tmp_path):
    shot = tmp_path / "scenario_page.png"
    with browser_page(width=1400, height=1900, timeout_s=90) as (page, errors):
        page.goto(app_url, wait_until="networkidle")
        # The calculator opens first with the README's known answer.
        page.get_by_text("14 agents", exact=True).first.wait_for()
        # Client-side navigation (a fresh load of /scenario makes Streamlit probe
        # /scenario/_stcore/..., two harmless 404s in the console).
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Scenario").click()
        page.get_by_role("button", name="Run the simulation").click()
        chart = page.get_by_test_id("stVegaLiteChart").first
        chart.wait_for(state="visible")
        # Vega draws into an SVG or a canvas once the data is in.
        chart.locator("canvas, svg").first.wait_for(state="visible")
        page.get_by_text("Intervals missing a target").wait_for()
        page.wait_for_timeout(1000)  # let the charts finish their first paint
        assert "scenario=singles_day" in page.url
        assert page.get_by_test_id("stException").count() == 0
        assert page.get_by_test_id("stAlertContentError").count() == 0
        assert page.get_by_test_id("stVegaLiteChart").count() == 3
        box = chart.bounding_box()
        assert box is not None and box["width"] > 400 and box["height"] > 200
        # From the top of the page to the bottom of the service-level chart.
        page.screenshot(path=str(shot), clip={"x": 0, "y": 0, "width": 1400,
                                              "height": min(1900, box["y"] + box["height"]
                                                            + 8)})
        assert errors == []
    assert shot.stat().st_size > 20_000
    if os.environ.get("PEAKPLAN_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)


def test_sweeps_page_refuses_a_folder_outside_the_workspace_in_chromium(app_url, tmp_path):
    # A real sweep summary outside the workspace, and a folder that does not exist: the page
    # must not tell them apart (nor open the first).
    outside = tmp_path / "other_team"
    outside.mkdir()
    (outside / "summary.csv").write_text("point,x,queue,service_level\n0,1,all,0.9\n")
    with browser_page(width=1400, height=1000, timeout_s=90) as (page, errors):
        page.goto(app_url, wait_until="networkidle")
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Sweeps and plans").click()
        page.get_by_text("No sweep found in the workspace (ws/)").wait_for()
        folder = page.get_by_test_id("stTextInput").locator("input")
        messages = []
        for typed in (str(outside), "/nonexistent"):
            folder.fill(typed)
            folder.press("Enter")
            alert = page.get_by_test_id("stAlertContentError")
            alert.wait_for()
            page.wait_for_timeout(500)  # the rerun has settled
            messages.append(alert.inner_text().strip())
            folder.fill("")
            folder.press("Enter")
            alert.wait_for(state="detached")
        assert "no sweep folder of that name in the workspace (expected a folder under ws/" \
            in messages[0]
        assert messages[1] == messages[0]
        assert "other_team" not in messages[0]
        assert page.get_by_test_id("stException").count() == 0
        assert page.get_by_test_id("stVegaLiteChart").count() == 0
        assert errors == []


def test_open_page_reports_console_errors_of_a_local_file(tmp_path):
    # The helper the report tests use: a local HTML file, a screenshot, its console errors.
    clean, broken = tmp_path / "clean.html", tmp_path / "broken.html"
    clean.write_text("<!doctype html><title>ok</title><h1 id='t'>Report</h1>")
    broken.write_text("<!doctype html><title>bad</title><h1>Report</h1>"
                      "<script>console.error('boom'); fetch('https://example.com/x');</script>")
    assert open_page(clean, tmp_path / "clean.png", wait_for="#t") == []
    assert (tmp_path / "clean.png").stat().st_size > 1000
    errors = open_page(broken, tmp_path / "broken.png")
    assert "console error: boom" in errors
    assert "blocked request to https://example.com/x" in errors
