"""Fixtures for the ingest tests: the MAMe metadata as a zip, and a real loopback HTTP server."""

from __future__ import annotations

import re
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

SHARED_MAME = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "mame"
MAME_CSVS = ("MAMe_dataset.csv", "MAMe_labels.csv", "MAMe_toy_dataset.csv")


def _generated_csvs(folder: Path) -> Path:
    """Stand-in CSVs shaped like the official ones, for machines without /work/shared."""
    folder.mkdir(parents=True, exist_ok=True)
    header = "Image file,Medium,Museum,Museum-based instance ID,Subset,Width,Height,"
    header += "Product size,Aspect ratio\n"
    rows = [
        f"{i}.jpg,Oil on canvas,Met,{1000 + i},{('train', 'val', 'test')[i % 3]},"
        f"{600 + i},{800 + i % 17},{(600 + i) * (800 + i % 17)},{(600 + i) / (800 + i % 17):.4f}\n"
        for i in range(20_000)
    ]
    (folder / "MAMe_dataset.csv").write_text(header + "".join(rows))
    (folder / "MAMe_toy_dataset.csv").write_text(header + "".join(rows[:2000]))
    (folder / "MAMe_labels.csv").write_text("0,Oil on canvas\n1,Graphite\n2,Glass\n")
    return folder


@pytest.fixture(scope="session")
def mame_csv_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the three MAMe CSVs loose: the real ones when available."""
    if all((SHARED_MAME / name).is_file() for name in MAME_CSVS):
        return SHARED_MAME.resolve()
    return _generated_csvs(tmp_path_factory.mktemp("generated_mame"))


@pytest.fixture(scope="session")
def metadata_zip(tmp_path_factory: pytest.TempPathFactory, mame_csv_dir: Path) -> Path:
    """A deflated zip of the three CSVs, standing in for MAMe_metadata.zip."""
    path = tmp_path_factory.mktemp("archives") / "MAMe_metadata.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in MAME_CSVS:
            zf.write(mame_csv_dir / name, arcname=name)
    return path


class RangeServer(ThreadingHTTPServer):
    """Serves ``files`` (name -> bytes) and records what it was asked and what it sent.

    ``honor_range``: answer Range requests with 206 (else ignore them and send 200).
    ``cut_next``: the next N responses stop after half their body and drop the connection.
    ``fail_next``: the next N requests get HTTP 503.
    """

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RangeHandler)
        self.files: dict[str, bytes] = {}
        self.honor_range = True
        self.cut_next = 0
        self.fail_next = 0
        self.requests: list[tuple[str, str | None, int]] = []  # (path, Range header, status)
        self.body_bytes_sent = 0
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def ranges(self) -> list[str | None]:
        return [rng for _, rng, _ in self.requests]


class _RangeHandler(BaseHTTPRequestHandler):
    server: RangeServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass  # keep pytest output clean

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        srv = self.server
        name = self.path.lstrip("/")
        data = srv.files.get(name)
        range_header = self.headers.get("Range")
        with srv.lock:
            fail = srv.fail_next > 0
            srv.fail_next -= int(fail)
        if data is None or fail:
            status = 404 if data is None else 503
            srv.requests.append((name, range_header, status))
            self.send_error(status)
            return
        start, end, status = 0, len(data) - 1, 200
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", range_header or "")
        if match and srv.honor_range:
            start = int(match[1])
            end = min(int(match[2]), end) if match[2] else end
            status = 206
            if start >= len(data):
                srv.requests.append((name, range_header, 416))
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        body = data[start : end + 1]
        srv.requests.append((name, range_header, status))
        self.send_response(status)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes" if srv.honor_range else "none")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.end_headers()
        with srv.lock:
            cut = srv.cut_next > 0
            srv.cut_next -= int(cut)
        if cut:
            body = body[: len(body) // 2]
            self.close_connection = True
        self.wfile.write(body)
        with srv.lock:
            srv.body_bytes_sent += len(body)


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
