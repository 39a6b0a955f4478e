"""Browser tests: a real `tidings serve --clock virtual` with the built app, driven by
Debian's chromium through Playwright (never `playwright install`).

Each test signs in to an account of its own (POST /accounts), finds things by role and name
as a person does, fails on any console error it did not expect, and leaves a screenshot in
test-artifacts/web/.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tidings.api.web import DIST

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "web"
ADMIN_KEY = "tdk_browser_tests_admin_key_0123456789"
CHROMIUM = os.environ.get("TIDINGS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    """The base URL of a running `tidings serve --clock virtual` with the built app."""
    if not (DIST / "index.html").is_file():
        pytest.fail(f"the web app is not built in {DIST}: run `make web`")
    folder = Path(tempfile.mkdtemp(prefix="tidings-web-"))
    port = _free_port()
    env = {
        **os.environ,
        "TIDINGS_DATABASE_URL": f"sqlite:///{folder / 'tidings.db'}",
        "TIDINGS_API_KEY": ADMIN_KEY,
        "TIDINGS_LOG_LEVEL": "warning",
    }
    tidings = Path(sys.executable).parent / "tidings"
    log = (folder / "serve.log").open("w")
    proc = subprocess.Popen(
        [str(tidings), "serve", "--clock", "virtual", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("tidings serve did not start:\n" + (folder / "serve.log").read_text())
        time.sleep(0.2)
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


class Api:
    """The public API as the tests' own program uses it, with one account's key."""

    def __init__(self, base: str, key: str) -> None:
        self.key = key
        self.client = httpx.Client(
            base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=60
        )

    def call(self, method: str, path: str, expect: int = 200, **kw: Any) -> Any:
        r = self.client.request(method, path, **kw)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None


@pytest.fixture
def api(server: str, request: pytest.FixtureRequest) -> Iterator[Api]:
    """A fresh account (so every test sees only its own flows) and its admin key."""
    admin = Api(server, ADMIN_KEY)
    name = re.sub(r"\W+", " ", request.node.name).strip()[:60]
    account = admin.call("POST", "/accounts", 201, json={"name": f"Shop {name}"})
    client = Api(server, account["apiKey"])
    yield client
    client.client.close()
    admin.client.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"no chromium at {CHROMIUM}: run `make chromium`")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


class Console:
    """The console errors of a page; a test names those it expects (a refused key's 401)."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.allowed: list[re.Pattern[str]] = []

    def allow(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(a.search(e) for a in self.allowed)]


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def page(
    browser: Any, server: str, console: Console, request: pytest.FixtureRequest
) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=server)
    context.set_default_timeout(15_000)
    pg = context.new_page()
    pg.on("console", lambda m: console.errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: console.errors.append(f"page error: {e}"))
    yield pg
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    try:
        pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    finally:
        context.close()
    assert console.unexpected() == [], "console errors in the browser"


def sign_in(page: Any, key: str, path: str = "/") -> None:
    page.goto(path)
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()


def shot(page: Any, name: str) -> None:
    """A screenshot in the middle of a test (the README's pictures come from these)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(300)  # the canvas refits itself after a resize
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
