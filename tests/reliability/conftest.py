"""Fixtures of the reliability suite: a loopback HTTP server with Range support."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator

import pytest

from tests.ingest.conftest import RangeServer

# ``artrec.ingest.download`` is also the name of a function re-exported by ``artrec.ingest``.
download_module = importlib.import_module("artrec.ingest.download")


@pytest.fixture
def http_server() -> Iterator[RangeServer]:
    server = RangeServer()
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(autouse=True)
def _no_retry_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    # Downloads wait seconds before a retry; the tests need no pause.
    monkeypatch.setattr(download_module, "_RETRY_WAIT_S", 0.0)
