"""Fixtures for the browser tests: one Streamlit server and one Chromium per session, a fresh
browser context (1280x800) per test, and a record of console errors.

The start / wait / chart-reading code is shared with ``benchmarks/bench_app.py`` and lives in
``benchmarks/_app_server.py``; it is loaded here by file path.

Without Chromium (or Playwright) the tests are skipped with the reason; when the environment
variable ``CI`` is ``"true"`` that is a failure instead, because CI must run them.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO_ROOT / "artifacts" / "screenshots"


def _load_app_server() -> ModuleType:
    name = "_app_server"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


app_server_lib = _load_app_server()


def _unavailable(reason: str) -> None:
    """Skip, or fail under CI (where the browser tests must run)."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} The browser tests must run in CI (CI=true).", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Path of the system Chromium; skips (fails under CI) if it or Playwright is missing."""
    if importlib.util.find_spec("playwright") is None:
        _unavailable(
            "Playwright for Python is not installed (pip install -r requirements-dev.txt)."
        )
    path = app_server_lib.find_chromium()
    if path is None:
        _unavailable(
            f"No Chromium found at {app_server_lib.DEFAULT_CHROMIUM} (nor at "
            f"${app_server_lib.CHROMIUM_ENV_VAR}, nor on PATH); install it with "
            "`apt-get install chromium fonts-liberation`."
        )
    return path


def _start_server() -> Any:
    try:
        return app_server_lib.start_app_server()
    except app_server_lib.ServerStartError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def app_server() -> Iterator[Any]:
    """The app, served by ``streamlit run app.py`` on a free loopback port for the session."""
    server = _start_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fresh_server() -> Iterator[Any]:
    """A server of its own for one test: its first visitor is that test.

    Needed for deep links: Streamlit decides per server process, on the first script run,
    whether a ``pages/`` folder means its old pages-directory mode, so a deep link only shows
    the real behaviour as the first request to a fresh server.
    """
    server = _start_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    """One headless Chromium for the session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = app_server_lib.launch_chromium(playwright, chromium_path)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class ConsoleLog:
    """Console errors, uncaught page errors and dialogs seen by one page.

    Each entry is one line: ``console.error: <text> @ <source url>``, ``pageerror: <message>``
    or ``dialog: <message>`` (a dialog is dismissed at once: none should ever open).
    """

    errors: list[str] = field(default_factory=list)

    def on_console(self, message: Any) -> None:
        if message.type == "error":
            source = (message.location or {}).get("url", "")
            self.errors.append(f"console.error: {message.text} @ {source}")

    def on_dialog(self, dialog: Any) -> None:
        self.errors.append(f"dialog: {dialog.type}: {dialog.message}")
        dialog.dismiss()

    def unexpected(self, harmless: dict[str, str]) -> list[str]:
        """The errors matched by no regular expression key of ``harmless`` (values: reasons)."""
        return [e for e in self.errors if not any(re.search(rx, e) for rx in harmless)]


@dataclass
class BrowserPage:
    """A page in a fresh 1280x800 context, with the server it talks to and its console log."""

    page: Any
    server: Any
    console: ConsoleLog

    def goto(self, path: str) -> None:
        """Open ``path`` directly (a deep link) and wait until the script has run."""
        self.page.goto(self.server.url(path), wait_until="domcontentloaded")
        app_server_lib.wait_for_idle(self.page)


@contextmanager
def open_page(browser: Any, server: Any) -> Iterator[BrowserPage]:
    """A new browser context (its own Streamlit session) with one page, closed afterwards."""
    context = browser.new_context(viewport=app_server_lib.VIEWPORT)
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        console = ConsoleLog()
        page.on("console", console.on_console)
        page.on("pageerror", lambda exc: console.errors.append(f"pageerror: {exc}"))
        page.on("dialog", console.on_dialog)
        yield BrowserPage(page=page, server=server, console=console)
    finally:
        context.close()


@pytest.fixture
def app_page(browser: Any, app_server: Any) -> Iterator[BrowserPage]:
    """A fresh browser context (1280x800) and page on the session's server."""
    with open_page(browser, app_server) as opened:
        yield opened


@pytest.fixture
def fresh_app_page(browser: Any, fresh_server: Any) -> Iterator[BrowserPage]:
    """A fresh browser context and page on a server no one has visited yet."""
    with open_page(browser, fresh_server) as opened:
        yield opened


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """``artifacts/screenshots/`` (created; git-ignored)."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR
