"""Headless Chromium and loopback servers for the browser tests.

Chromium renders a page (``--virtual-time-budget`` lets a React app fetch and draw), then
``--dump-dom`` gives what a person would see as HTML and ``--screenshot`` a PNG of it. Pages that
fetch slowly are polled until the expected text shows up or time runs out.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.pipelines.tiny_project import tool_env

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def chromium() -> str:
    """Path of a Chromium binary, or skip the test saying why (scripts/test.sh installs one)."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no chromium on PATH (scripts/test.sh installs Debian's `chromium` when it can)")


def _flags(browser: str) -> list[str]:
    # --no-sandbox: the tests run as root in containers, where Chromium's sandbox cannot start.
    return [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--window-size=1600,1000",
    ]


def dump_dom(url: str, budget_ms: int = 8000) -> str:
    browser = chromium()
    result = subprocess.run(
        [*_flags(browser), f"--virtual-time-budget={budget_ms}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.stdout


def wait_for_dom(url: str, ready: Callable[[str], bool], timeout: float = 90) -> str:
    """The page's DOM once ``ready(dom)`` holds; the last DOM when time runs out."""
    deadline = time.time() + timeout
    dom = ""
    budget = 5000
    while time.time() < deadline:
        dom = dump_dom(url, budget)
        if ready(dom):
            return dom
        budget = min(budget * 2, 30000)
    return dom


def screenshot(url: str, out: Path, budget_ms: int = 15000) -> Path:
    browser = chromium()
    subprocess.run(
        [*_flags(browser), f"--virtual-time-budget={budget_ms}", f"--screenshot={out}", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serving(
    cmd: list[str], cwd: Path, port: int, timeout: float = 120, **env: str
) -> Iterator[str]:
    """Run a server on 127.0.0.1:``port`` for the block; always stopped afterwards."""
    server = subprocess.Popen(
        cmd, cwd=cwd, env=tool_env(**env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.time() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise AssertionError(f"{cmd[0:3]} did not start on port {port}") from None
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)
