"""Real-browser checks for the test suite: Debian's Chromium driven by Playwright (sync API).

Playwright never downloads a browser here: it launches ``/usr/bin/chromium`` (``make test``
installs it with apt-get when it can; see the Makefile's ``chromium`` rule), headless, with no
network but loopback (requests to any other host are aborted and reported).

Two ways in:

* :func:`open_page` opens a URL or a local file (an HTML report), waits for it, saves a
  screenshot and returns the console errors, for a one-line check::

      errors = open_page(tmp_path / "report.html", tmp_path / "report.png")
      assert errors == []

* :func:`browser_page` is a context manager giving a Playwright ``Page`` to drive (click,
  fill, wait) for pages that need interaction, such as the Streamlit app; the list it also
  yields fills with console errors as they happen.

:func:`chromium_missing` gives the reason to skip when the browser or Playwright is absent.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "chromium_missing", "browser_page", "open_page"]

CHROMIUM = os.environ.get("PEAKPLAN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def chromium_missing() -> str | None:
    """Why a browser test cannot run here (None when it can)."""
    if not Path(CHROMIUM).is_file():
        return (f"{CHROMIUM} is missing: the browser tests need Debian's chromium "
                "(`make test` installs it as root with apt-get; or apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the python package playwright is missing (pip install -e '.[test]')"
    return None


@contextmanager
def browser_page(*, width: int = 1400, height: int = 1000,
                 timeout_s: float = 60.0) -> Iterator[tuple[Any, list[str]]]:
    """A fresh Chromium page and the list of its console errors (and uncaught page errors,
    and blocked requests to hosts other than loopback), filled as they happen."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                     headless=True)
        try:
            context = browser.new_context(viewport={"width": width, "height": height},
                                          service_workers="block")
            context.set_default_timeout(timeout_s * 1000)

            def guard(route: Any) -> None:
                url = urlparse(route.request.url)
                if url.scheme in ("http", "https", "ws", "wss") and \
                        url.hostname not in _LOOPBACK:
                    errors.append(f"blocked request to {route.request.url}")
                    route.abort()
                else:
                    route.continue_()

            context.route("**/*", guard)
            page = context.new_page()
            page.on("console", lambda msg: errors.append(f"console {msg.type}: {msg.text}")
                    if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
            yield page, errors
        finally:
            browser.close()


def open_page(url_or_file: str | Path, screenshot_path: str | Path, *,
              wait_for: str | None = None, full_page: bool = True,
              width: int = 1400, height: int = 1000, timeout_s: float = 60.0,
              before_screenshot: Callable[[Any], None] | None = None) -> list[str]:
    """Open a URL (``http://127.0.0.1:...``) or a local file (a path or ``file://`` URL),
    wait until the network is idle (and ``wait_for``, a CSS selector, is visible), save a PNG
    screenshot to ``screenshot_path`` and return the console errors (an empty list: none).

    ``before_screenshot(page)`` may drive the page first (click a tab, scroll).
    """
    target = str(url_or_file)
    if "://" not in target:
        target = Path(target).resolve().as_uri()
    shot = Path(screenshot_path)
    shot.parent.mkdir(parents=True, exist_ok=True)
    with browser_page(width=width, height=height, timeout_s=timeout_s) as (page, errors):
        page.goto(target, wait_until="networkidle")
        if wait_for is not None:
            page.locator(wait_for).first.wait_for(state="visible")
        if before_screenshot is not None:
            before_screenshot(page)
        page.screenshot(path=str(shot), full_page=full_page)
        return list(errors)
