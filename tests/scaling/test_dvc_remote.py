"""A DVC remote on S3: push, a fresh clone, pull, and the pipeline is up to date.

The S3 server is moto's, started on the loopback interface for this test only, with fake
credentials (nothing leaves the machine). The project is a two-stage DVC pipeline of its own,
cheap enough to reproduce in a second; what is tested is the remote, not artrec's stages.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pipelines.tiny_project import run, tool_env

BIN = Path(sys.executable).parent
BUCKET = "artrec-dvc-test"

pytestmark = pytest.mark.timeout(180)

DVC_YAML = """\
stages:
  generate:
    cmd: python generate.py
    deps: [generate.py]
    params: [rows]
    outs: [data/raw.csv]
  count:
    cmd: python count.py
    deps: [count.py, data/raw.csv]
    metrics:
      - out/count.json:
          cache: false
    outs: [out/total.txt]
"""

GENERATE = """\
import pathlib, yaml
rows = yaml.safe_load(open("params.yaml"))["rows"]
pathlib.Path("data").mkdir(exist_ok=True)
pathlib.Path("data/raw.csv").write_text("".join(f"{i},{i * i}\\n" for i in range(rows)))
"""

COUNT = """\
import json, pathlib
lines = pathlib.Path("data/raw.csv").read_text().splitlines()
pathlib.Path("out").mkdir(exist_ok=True)
pathlib.Path("out/count.json").write_text(json.dumps({"rows": len(lines)}))
pathlib.Path("out/total.txt").write_text(str(sum(int(line.split(",")[1]) for line in lines)))
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(url: str, server: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"moto_server exited ({server.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"moto_server did not answer on {url} within {timeout} s")


@pytest.fixture
def s3_endpoint(tmp_path) -> Iterator[str]:
    """moto's S3 server on 127.0.0.1 (a free port), stopped after the test."""
    port = _free_port()
    log = tmp_path / "moto.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=tool_env(**_fake_aws(tmp_path)),
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, server, log)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def _fake_aws(tmp_path: Path) -> dict[str, str]:
    """Fake credentials, and no access to any real AWS configuration of the machine."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }


def _bucket_keys(endpoint: str) -> list[str]:
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    listed = client.list_objects_v2(Bucket=BUCKET)
    return [item["Key"] for item in listed.get("Contents", [])]


def test_push_clone_pull_leaves_nothing_to_reproduce(tmp_path, s3_endpoint, monkeypatch):
    env = _fake_aws(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # for boto3 in this process
    # DVC's per-user and per-machine state (site cache, global config) stays in the test's dir.
    env.update(
        DVC_NO_ANALYTICS="1",
        DVC_SITE_CACHE_DIR=str(tmp_path / "dvc-site"),
        DVC_GLOBAL_CONFIG_DIR=str(tmp_path / "dvc-global"),
        DVC_SYSTEM_CONFIG_DIR=str(tmp_path / "dvc-system"),
    )
    import boto3

    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(
        Bucket=BUCKET
    )

    origin = tmp_path / "origin"
    origin.mkdir()
    (origin / "dvc.yaml").write_text(DVC_YAML)
    (origin / "params.yaml").write_text("rows: 50\n")
    (origin / "generate.py").write_text(GENERATE)
    (origin / "count.py").write_text(COUNT)
    run(["git", "init", "-q"], origin, **env)
    run(["dvc", "init", "-q"], origin, **env)
    run(["dvc", "remote", "add", "-d", "store", f"s3://{BUCKET}/cache"], origin, **env)
    run(["dvc", "remote", "modify", "store", "endpointurl", s3_endpoint], origin, **env)
    run(["dvc", "repro"], origin, **env)
    run(["git", "add", "-A"], origin, **env)
    run(["git", "commit", "-qm", "pipeline and lock"], origin, **env)
    run(["dvc", "push"], origin, **env)
    # The two cached outputs (data/raw.csv, out/total.txt) are in the bucket.
    assert len([key for key in _bucket_keys(s3_endpoint) if key.startswith("cache/")]) == 2

    # A fresh clone has the code, dvc.lock and the remote's configuration, but no data or cache.
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(origin), str(clone)], tmp_path, **env)
    assert not (clone / "data/raw.csv").exists() and not (clone / ".dvc/cache").exists()
    shutil.rmtree(origin / ".dvc/cache")  # the clone cannot borrow the origin's cache either
    run(["dvc", "pull"], clone, **env)
    assert (clone / "data/raw.csv").read_text() == (origin / "data/raw.csv").read_text()
    assert (clone / "out/total.txt").read_text() == str(sum(i * i for i in range(50)))

    status = run(["dvc", "status"], clone, **env).stdout
    assert "up to date" in status, status
    cloud = run(["dvc", "status", "--cloud"], clone, **env).stdout
    assert "in sync" in cloud, cloud
    # The uncached metrics file came with git.
    assert json.loads((clone / "out/count.json").read_text()) == {"rows": 50}
    repro = run(["dvc", "repro"], clone, **env)
    assert "Running stage" not in repro.stdout + repro.stderr, repro.stdout
    assert "up to date" in repro.stdout, repro.stdout
