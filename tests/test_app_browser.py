"""The app in a real browser: `streamlit run app.py` on a loopback port, driven by Playwright in
Debian's Chromium (tests/browser.py).  The planner's main flow: the calculator opens on Singles'
Day; on the Scenario page a shift is added in the grid and the day simulated; the edit is saved
as a what-if; Compare runs it against the original and the capacity review runs on it; with no
error on the page or in the console, and screenshots of each page.  On the Sweeps page,
folders outside the workspace (PEAKPLAN_WORKSPACE, a temporary folder here) are refused with
one message, whether they exist or not.

Unsaved edits survive a reload of the browser (a draft in the workspace). The Plan page plans
Singles' Day and opens its plan on the Scenario page, whose need chart then draws the plan's
pooled requirement.

PEAKPLAN_UPDATE_SCREENSHOTS=1 also copies the screenshots to docs/ (scenario_page.png,
compare_page.png, review_page.png, plan_page.png, need_with_plan.png: the README's pictures of
the app).
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


def shoot(page, path: Path, *, until=None, max_height: int = 1900) -> None:
    """A screenshot from the top of the page down to the bottom of ``until`` (a locator), at
    most ``max_height`` pixels."""
    height = max_height
    if until is not None:
        box = until.bounding_box()
        assert box is not None
        height = min(max_height, int(box["y"] + box["height"] + 8))
    page.screenshot(path=str(path), clip={"x": 0, "y": 0, "width": 1400, "height": height})


def shoot_section(page, path: Path, *, top, bottom) -> None:
    """A screenshot of the main column from ``top`` to ``bottom`` (locators), scrolled into
    view first (the app's main column scrolls, not the document)."""
    top.evaluate("e => e.scrollIntoView()")
    page.wait_for_timeout(500)
    a, b = top.bounding_box(), bottom.bounding_box()
    assert a is not None and b is not None
    x = max(0, int(a["x"]) - 24)
    page.screenshot(path=str(path), clip={"x": x, "y": max(0, int(a["y"]) - 12),
                                          "width": 1400 - x - 40,
                                          "height": int(b["y"] + b["height"] - a["y"]) + 24})


def settle(page) -> None:
    """Wait until the app has finished its run (Streamlit's "Running..." widget is gone)."""
    page.wait_for_timeout(300)
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden")
    page.wait_for_timeout(300)


def no_errors_on(page) -> None:
    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_test_id("stAlertContentError").count() == 0


def test_the_main_flow_in_chromium(app_url, tmp_path):
    """Open Singles' Day, add a shift, run, save it as a what-if, compare it with the
    original, run a review of it."""
    shots = {name: tmp_path / f"{name}.png" for name in ("scenario_page", "compare_page",
                                                         "review_page")}
    # Tall enough for the Scenario page's grids, need against roster and the run's figures.
    with browser_page(width=1400, height=2300, timeout_s=120) as (page, errors):
        page.goto(app_url, wait_until="networkidle")
        # The calculator opens on the peak: Singles' Day's forecast.
        page.get_by_text("Peak, scheduled").first.wait_for()
        page.get_by_text("13,690").first.wait_for()
        # Client-side navigation (a fresh load of /scenario makes Streamlit probe
        # /scenario/_stcore/..., two harmless 404s in the console).
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Scenario").click()
        page.get_by_text("Need against roster").wait_for()
        assert "scenario=singles_day" in page.url
        # Add a shift: 10 temps 18:00-23:00 (the grid takes rows too; the form is the
        # planner's quick way, and a browser's).
        page.get_by_role("tab", name="Shifts and breaks").click()
        page.get_by_role("button", name="Add a shift").click()
        page.get_by_label("Agent group").click()
        page.get_by_role("option", name="temp", exact=True).click()
        page.get_by_role("button", name="Add it").click()
        page.get_by_text("Your changes (1)").wait_for()
        # +10 temps 18:00-23:00: +50 agent-hours at the temps' 1.3 per hour.
        page.get_by_test_id("stMetricDelta").get_by_text("+50.0 h").wait_for()
        page.get_by_test_id("stMetricDelta").get_by_text("+65.0").wait_for()
        settle(page)
        page.get_by_role("button", name="Run the simulation").click()
        page.get_by_text("Effect of your changes").wait_for()
        chart = page.get_by_test_id("stVegaLiteChart").nth(2)  # service level per queue
        chart.locator("canvas, svg").first.wait_for(state="visible")
        page.wait_for_timeout(1000)  # let the charts finish their first paint
        no_errors_on(page)
        assert page.get_by_test_id("stVegaLiteChart").count() == 5
        page.get_by_role("tab", name="Groups and skills").click()
        effect = page.get_by_test_id("stMarkdown").filter(has_text="Effect of your changes")
        shoot(page, shots["scenario_page"], until=effect, max_height=2300)
        # Save it as a what-if: the address then names it.
        page.get_by_role("button", name="Save as a what-if").click()
        page.get_by_placeholder("peak plus 10 temps").fill("ten more temps")
        page.get_by_role("button", name="Save in the workspace").click()
        page.get_by_text("Saved as ws/whatifs/ten_more_temps.yaml").wait_for()
        page.wait_for_timeout(500)
        assert "whatif=ten_more_temps" in page.url
        assert "draft=" not in page.url                 # saved: no unsaved changes left
        # Compare: the what-if against the scenario it came from.
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Compare").click()
        page.get_by_role("button", name="Run all").wait_for()
        settle(page)
        page.get_by_role("button", name="Run all").click()
        page.get_by_text("Difference from the baseline").wait_for()
        diff_chart = page.get_by_test_id("stVegaLiteChart").first
        diff_chart.locator("canvas, svg").first.wait_for(state="visible")
        page.wait_for_timeout(1000)
        no_errors_on(page)
        assert page.get_by_text("what-if: ten_more_temps").count() > 0
        shoot(page, shots["compare_page"], until=diff_chart)
        # The capacity review of the what-if: two cases, two replications (the gap of the
        # base case is closed by the plan of its planning rules: under a minute).
        page.get_by_test_id("stSidebarNav").get_by_role("link",
                                                        name="Capacity review").click()
        page.get_by_role("textbox", name="Volume cases").fill("base=1.0,high=1.3")
        fix = page.get_by_role("textbox", name="Close the gap of case")
        fix.fill("none")
        fix.press("Enter")
        replications = page.get_by_role("spinbutton", name="Replications per case")
        replications.fill("2")
        replications.press("Enter")
        settle(page)
        page.get_by_role("button", name="Run the review").click()
        page.get_by_text("Review done").wait_for()
        # The Scenario page holds the what-if now: it is the review's first choice.
        page.get_by_role("heading", name="Verdict: Scenario page, as edited").wait_for()
        report = page.locator("iframe").first
        report.wait_for(state="visible")
        page.wait_for_timeout(1500)
        no_errors_on(page)
        shoot(page, shots["review_page"], until=report)
        assert errors == []
    for shot in shots.values():
        assert shot.stat().st_size > 20_000
    if os.environ.get("PEAKPLAN_UPDATE_SCREENSHOTS") == "1":
        for name, shot in shots.items():
            shutil.copyfile(shot, ROOT / "docs" / f"{name}.png")


def test_unsaved_edits_survive_a_reload_in_chromium(app_url):
    """Nothing is lost on F5: an edit made in the page is there again after a reload of the
    browser (a new session), with the notice saying so; "Discard draft" drops it."""
    with browser_page(width=1400, height=1900, timeout_s=120) as (page, errors):
        page.goto(app_url, wait_until="networkidle")
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Scenario").click()
        page.get_by_text("Need against roster").wait_for()
        page.get_by_role("tab", name="Shifts and breaks").click()
        page.get_by_role("button", name="Add a shift").click()
        page.get_by_label("Agent group").click()
        page.get_by_role("option", name="temp", exact=True).click()
        page.get_by_role("button", name="Add it").click()
        page.get_by_text("Your changes (1)").wait_for()
        page.get_by_test_id("stMetricDelta").get_by_text("+50.0 h").wait_for()
        settle(page)
        assert "draft=" in page.url and "scenario=singles_day" in page.url
        missing: list[str] = []
        page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
        page.reload(wait_until="networkidle")
        page.get_by_text("Unsaved changes restored").wait_for()
        page.get_by_text("Your changes (1)").wait_for()
        page.get_by_test_id("stMetricDelta").get_by_text("+50.0 h").wait_for()
        settle(page)
        no_errors_on(page)
        page.get_by_role("button", name="Discard draft").click()
        page.get_by_text("Unsaved changes restored").wait_for(state="detached")
        settle(page)
        assert page.get_by_text("Your changes (").count() == 0
        assert "draft=" not in page.url
        no_errors_on(page)
        # A fresh load of /scenario (the reload) makes Streamlit's client probe
        # /scenario/_stcore/... before /_stcore/...: two 404s in the console, harmless.
        probes = [e for e in errors if "status of 404" in e]
        assert len(probes) == len(missing) and all("/scenario/_stcore/" in u for u in missing)
        assert [e for e in errors if e not in probes] == []


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


def test_the_plan_page_plans_singles_day_in_chromium(app_url, tmp_path):
    """The Plan page on Singles' Day with its own planning rules: the shifts to book, their
    cost and the chart, with no console errors (PEAKPLAN_UPDATE_SCREENSHOTS=1 refreshes
    docs/plan_page.png)."""
    shot, need_shot = tmp_path / "plan_page.png", tmp_path / "need_with_plan.png"
    with browser_page(width=1400, height=1900, timeout_s=180) as (page, errors):
        page.goto(app_url, wait_until="networkidle")
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Plan", exact=True).click()
        page.get_by_text("Plan the roster").first.wait_for()
        page.get_by_label("Scenario").first.click()
        page.get_by_role("option", name="singles_day", exact=True).click()
        settle(page)
        page.get_by_role("button", name="Plan the roster").click()
        page.get_by_text("Cost of the booked shifts").wait_for(timeout=180_000)
        settle(page)
        no_errors_on(page)
        shoot(page, shot)
        # Opened on the Scenario page, the plan's pooled requirement is drawn beside Erlang's.
        page.get_by_role("button", name="Open the planned scenario on the Scenario page").click()
        page.get_by_text("Need against roster").wait_for()
        caption = page.get_by_text("Purple, dotted: the requirement of the Plan page's plan")
        caption.wait_for()
        assert "whatif=planned_" in page.url
        need = page.get_by_test_id("stVegaLiteChart").first
        need.locator("canvas, svg").first.wait_for(state="visible")
        settle(page)
        page.wait_for_timeout(1000)
        no_errors_on(page)
        shoot_section(page, need_shot, top=page.get_by_role("heading",
                                                            name="Need against roster"),
                      bottom=caption)
        assert errors == []
    assert shot.stat().st_size > 20_000 and need_shot.stat().st_size > 20_000
    if os.environ.get("PEAKPLAN_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(shot, ROOT / "docs" / "plan_page.png")
        shutil.copyfile(need_shot, ROOT / "docs" / "need_with_plan.png")
