"""The pipeline registry imports only the folders of the pipelines Kedro looks up."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# What `kedro run --pipeline NAME` does with the registry, in a fresh interpreter (so that the
# modules it imports are its own): set the request, look the name up.
SCRIPT = """
    import json, os, sys
    from pathlib import Path
    os.environ["KEDRO_DISABLE_TELEMETRY"] = "1"
    from kedro.framework.startup import bootstrap_project
    bootstrap_project(Path(sys.argv[1]))
    from kedro.framework.project import pipelines

    pipelines.set_requested(["curate_met"])
    curate_met = sorted(n.name for n in pipelines["curate_met"].nodes)
    after_one = sorted(m for m in sys.modules if m.startswith("artrec.pipelines.") and
                       m.endswith(".pipeline"))
    heavy = [m for m in ("torch", "timm", "torchvision") if m in sys.modules]
    try:
        pipelines["curate_no_such_tag"]
        unknown = "found"
    except KeyError:
        unknown = "KeyError"
    print(json.dumps({"curate_met": curate_met, "after_one": after_one, "heavy": heavy,
                      "unknown": unknown}))
"""


def test_a_requested_pipeline_imports_only_its_folder(tmp_path: Path) -> None:
    script = tmp_path / "registry.py"
    script.write_text(textwrap.dedent(SCRIPT))
    done = subprocess.run(
        [sys.executable, str(script), str(REPO)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["after_one"] == ["artrec.pipelines.curate.pipeline"]
    assert result["heavy"] == []  # torch, timm and torchvision cost seconds per DVC stage
    assert result["unknown"] == "KeyError"
    assert result["curate_met"] == ["curate.curate_met"]


def test_lazy_and_eager_lookups_agree() -> None:
    from artrec.pipeline_registry import PIPELINE_NAMES, register_pipelines

    eager = register_pipelines()
    listed = dict(eager)  # what Kedro's pipelines object copies: every folder loaded
    assert set(PIPELINE_NAMES) | {"__default__", "train_vgg11_lrfs", "ingest_mame"} <= set(listed)
    for name in ("train_vgg11_lrfs", "preprocess_hrvs", "curate_met", "knn"):
        lazy = register_pipelines()
        assert name in lazy
        assert {n.name for n in lazy[name].nodes} == {n.name for n in listed[name].nodes}
    assert register_pipelines().get("no_such_pipeline") is None
    default = {n.name for n in listed["__default__"].nodes}
    assert default == {n.name for f in PIPELINE_NAMES for n in listed[f].nodes}
