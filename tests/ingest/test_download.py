import hashlib
import importlib
import socket

import pytest

from artrec.ingest.download import ChecksumError, DownloadError, download, partial_path

# The package re-exports the function download(), which hides the module of the same name.
download_module = importlib.import_module("artrec.ingest.download")


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@pytest.fixture
def served(http_server, metadata_zip):
    """The metadata zip on the loopback server: (server, url, bytes, md5)."""
    data = metadata_zip.read_bytes()
    http_server.files["MAMe_metadata.zip"] = data
    return http_server, f"{http_server.base_url}/MAMe_metadata.zip", data, _md5(data)


@pytest.fixture(autouse=True)
def _no_retry_wait(monkeypatch):
    monkeypatch.setattr(download_module, "_RETRY_WAIT_S", 0.0)


def test_full_download_checks_md5_and_is_not_repeated(served, tmp_path):
    server, url, data, md5 = served
    dest = tmp_path / "dl" / "MAMe_metadata.zip"

    assert download(url, dest, md5, progress=False) == dest
    assert dest.read_bytes() == data
    assert not partial_path(dest).exists()
    assert server.body_bytes_sent == len(data)

    download(url, dest, md5, progress=False)
    assert len(server.requests) == 1  # the verified file was not fetched again


def test_cut_transfer_leaves_part_and_next_call_resumes_with_range(served, tmp_path):
    server, url, data, md5 = served
    dest = tmp_path / "MAMe_metadata.zip"
    server.cut_next = 1

    with pytest.raises(DownloadError) as excinfo:
        download(url, dest, md5, progress=False, retries=0, chunk_size=8192)
    part = partial_path(dest)
    kept = part.stat().st_size
    assert 0 < kept < len(data)
    assert str(part) in str(excinfo.value)
    assert not dest.exists()

    download(url, dest, md5, progress=False, chunk_size=8192)
    assert server.ranges == [None, f"bytes={kept}-"]
    assert [status for _, _, status in server.requests] == [200, 206]
    # about once the file, not twice: the second request sent only the missing tail
    assert len(data) <= server.body_bytes_sent < 1.1 * len(data)
    assert _md5(dest.read_bytes()) == md5
    assert not part.exists()


def test_retries_resume_within_one_call(served, tmp_path):
    server, url, data, md5 = served
    dest = tmp_path / "MAMe_metadata.zip"
    server.cut_next = 2

    download(url, dest, md5, progress=False, retries=1, chunk_size=8192)
    assert dest.read_bytes() == data
    assert len(server.ranges) == 3
    assert server.ranges[0] is None
    assert all(rng.startswith("bytes=") for rng in server.ranges[1:])
    assert server.body_bytes_sent < 1.1 * len(data)


def test_transient_http_error_is_retried(served, tmp_path):
    server, url, data, md5 = served
    server.fail_next = 1
    dest = download(url, tmp_path / "MAMe_metadata.zip", md5, progress=False, retries=1)
    assert [status for _, _, status in server.requests] == [503, 200]
    assert dest.read_bytes() == data


def test_wrong_md5_is_refused_and_bytes_are_kept(served, tmp_path):
    server, url, data, md5 = served
    dest = tmp_path / "MAMe_metadata.zip"
    wrong = "0" * 32

    with pytest.raises(ChecksumError) as excinfo:
        download(url, dest, wrong, progress=False)
    message = str(excinfo.value)
    part = partial_path(dest)
    for expected in ("MAMe_metadata.zip", wrong, md5, str(part)):
        assert expected in message
    assert part.read_bytes() == data
    assert not dest.exists()

    # The kept bytes are complete: the next call asks for the rest, gets 416, and uses them.
    served_before = server.body_bytes_sent
    download(url, dest, md5, progress=False)
    assert server.ranges[-1] == f"bytes={len(data)}-"
    assert server.requests[-1][2] == 416
    assert server.body_bytes_sent == served_before
    assert dest.read_bytes() == data


def test_server_ignoring_range_restarts_cleanly(served, tmp_path):
    server, url, data, md5 = served
    server.honor_range = False
    server.cut_next = 1
    dest = tmp_path / "MAMe_metadata.zip"

    with pytest.raises(DownloadError):
        download(url, dest, md5, progress=False, retries=0, chunk_size=8192)
    assert partial_path(dest).exists()

    download(url, dest, md5, progress=False)
    assert server.ranges[-1] is not None and server.ranges[-1].startswith("bytes=")
    assert [status for _, _, status in server.requests] == [200, 200]
    assert dest.read_bytes() == data  # restarted from zero, not appended


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_no_network_names_url_md5_and_manual_path(tmp_path):
    url = f"http://127.0.0.1:{_closed_port()}/MAMe_metadata.zip"
    md5 = "0bca980978e3883f753f01ccad955981"
    dest = tmp_path / "raw" / "MAMe_metadata.zip"

    with pytest.raises(DownloadError) as excinfo:
        download(url, dest, md5, progress=False, retries=1, timeout=5)
    message = str(excinfo.value)
    assert url in message
    assert md5 in message
    assert f"place it at {dest}" in message
    assert not dest.exists()


def test_http_404_is_a_download_error(served, tmp_path):
    server, _, _, md5 = served
    url = f"{server.base_url}/missing.zip"
    with pytest.raises(DownloadError, match="HTTP 404") as excinfo:
        download(url, tmp_path / "missing.zip", md5, progress=False)
    assert url in str(excinfo.value)
    assert len(server.requests) == 1  # not retried: it will never work


def test_existing_file_with_wrong_md5_is_left_alone(tmp_path):
    dest = tmp_path / "MAMe_metadata.zip"
    dest.write_bytes(b"not the archive")
    with pytest.raises(ChecksumError, match=str(dest)):
        download("http://127.0.0.1:9/x.zip", dest, "0" * 32, progress=False)
    assert dest.read_bytes() == b"not the archive"


def test_local_path_and_file_url_are_copied_with_md5_check(metadata_zip, tmp_path):
    data = metadata_zip.read_bytes()
    md5 = _md5(data)

    by_path = download(str(metadata_zip), tmp_path / "a" / "m.zip", md5, progress=False)
    by_url = download(metadata_zip.as_uri(), tmp_path / "b" / "m.zip", md5, progress=False)
    assert by_path.read_bytes() == data
    assert by_url.read_bytes() == data

    with pytest.raises(ChecksumError):
        download(str(metadata_zip), tmp_path / "c" / "m.zip", "f" * 32, progress=False)
    assert partial_path(tmp_path / "c" / "m.zip").read_bytes() == data

    missing = tmp_path / "nowhere.zip"
    with pytest.raises(DownloadError) as excinfo:
        download(missing.as_uri(), tmp_path / "d" / "m.zip", md5, progress=False)
    assert str(missing) in str(excinfo.value)
    assert str(tmp_path / "d" / "m.zip") in str(excinfo.value)
