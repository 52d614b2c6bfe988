"""Every hostile image class at ``artrec predict``: the check, the MAMe input, the Met input.

No image is decoded at full resolution: each decode is a draft-mode decode at the size it is used
at, with the pixel limits of ``params.yaml``. Handled images are predicted; refused ones are one
line each on stderr (exit code 2) while the others are still predicted.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from PIL import Image

from artrec import commands
from artrec import predict as predict_module
from artrec.config import load_params
from artrec.errors import BadInputError
from artrec.predict import MameModel, check_image, mame_input, met_input, pixel_limit
from tests.reliability.hostile import (
    IMAGE_IDS,
    IMAGES,
    LARGEST_MAME,
    HostileImage,
    encode,
    write_images,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile_predict_images")
    write_images(folder)
    return folder


def _project(root: Path, **limits: int) -> Path:
    """A project folder with a copy of the real params.yaml, pixel limits changed as given."""
    (root / "conf" / "base").mkdir(parents=True)
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    if "mame" in limits:
        raw["preprocess"]["mame"]["max_image_pixels"] = limits["mame"]
    if "met" in limits:
        raw["embed"]["met"]["max_image_pixels"] = limits["met"]
    (root / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return root


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _project(tmp_path_factory.mktemp("project"))


def _path(folder: Path, case: HostileImage) -> Path:
    return folder / f"{case.name}.jpg"


def _assert_names(error: BaseException, path: Path, reason: str) -> None:
    message = str(error)
    assert isinstance(error, BadInputError)
    assert message.startswith(f"{path}: {reason}"), message
    assert "Fix:" in message and "\n" not in message


@pytest.mark.parametrize("case", IMAGES, ids=IMAGE_IDS)
def test_each_case_is_read_at_its_use_size_or_named(
    hostile_dir: Path, project: Path, case: HostileImage
) -> None:
    path = _path(hostile_dir, case)
    params = load_params(project)
    if case.refused:
        for decode in (
            lambda: check_image(path, pixel_limit(params)),
            lambda: mame_input(path, params, "hrvs"),
        ):
            with pytest.raises(BadInputError) as caught:
                decode()
            _assert_names(caught.value, path, case.reason)
        return
    check_image(path, pixel_limit(params))
    hrvs = params["preprocess"]["mame"]["versions"]["hrvs"]["size"]
    mame = mame_input(path, params, "hrvs")
    assert mame.mode == "RGB" and min(mame.size) == hrvs
    case.check(mame)
    met = met_input(path, params)
    assert met.mode == "RGB" and max(met.size) <= params["embed"]["met"]["max_side"]
    case.check(met)


MEMORY = """
    import json, resource, sys
    from pathlib import Path
    from artrec.config import load_params
    from artrec.predict import check_image, mame_input, met_input, pixel_limit

    path, project = Path(sys.argv[1]), Path(sys.argv[2])
    params = load_params(project)
    check_image(Path(sys.argv[3]), pixel_limit(params))  # warm up: imports, small allocations
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    check_image(path, pixel_limit(params))
    sizes = [mame_input(path, params, "hrvs").size, met_input(path, params).size]
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(json.dumps({"grown_mib": grown, "sizes": sizes}))
"""


def test_the_largest_mame_image_costs_no_full_resolution_memory(
    hostile_dir: Path, project: Path, tmp_path: Path
) -> None:
    # A fresh interpreter, so that the peak resident size measures these decodes alone.
    script = tmp_path / "memory.py"
    script.write_text(textwrap.dedent(MEMORY))
    largest = _path(hostile_dir, next(c for c in IMAGES if c.name == "largest_real_mame_size"))
    small = _path(hostile_dir, next(c for c in IMAGES if c.name == "png_named_jpg"))
    done = subprocess.run(
        [sys.executable, str(script), str(largest), str(project), str(small)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=REPO,
    )
    result = json.loads(done.stdout)
    params = load_params(project)
    hrvs = params["preprocess"]["mame"]["versions"]["hrvs"]["size"]
    side = params["embed"]["met"]["max_side"]
    width, height = LARGEST_MAME
    assert result["sizes"] == [
        [round(width * hrvs / height), hrvs],
        [side, round(side * height / width)],
    ]
    # A full-resolution RGB decode of this image takes 1.1 GB; draft mode decodes it at 1/8.
    assert result["grown_mib"] < 200, result


def test_the_configured_pixel_limits_are_the_ones_applied(tmp_path: Path) -> None:
    project = _project(tmp_path / "project", mame=1_000_000, met=2_000_000)
    params = load_params(project)
    assert pixel_limit(params) == 2_000_000
    path = tmp_path / "big.png"
    path.write_bytes(encode(Image.new("RGB", (1200, 1000), (10, 20, 30)), "PNG"))
    check_image(path, pixel_limit(params))  # within the larger limit: usable by the Met part
    side = params["embed"]["met"]["max_side"]
    assert met_input(path, params).size == (side, round(side * 1000 / 1200))
    with pytest.raises(BadInputError, match="too large: above max_pixels=1,000,000"):
        mame_input(path, params, "hrvs")
    # without parameters (no project), the check applies the decoder's default limit
    bomb = tmp_path / "bomb.jpg"
    bomb.write_bytes(next(c for c in IMAGES if c.name == "decompression_bomb").make())
    with pytest.raises(BadInputError, match="too large: above max_pixels=400,000,000"):
        check_image(bomb, pixel_limit(None))


def _fake_model(root: Path, variant: str, model_uri: str | None) -> MameModel:
    """A stand-in for a trained MAMe model: the decoding around it is what is tested."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    module = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 4)).eval()
    return MameModel(module, ["Oil on canvas", "Bronze", "Ivory", "Silk"], "hrvs")


def test_the_command_predicts_the_handled_images_and_names_the_others(
    hostile_dir: Path,
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(predict_module, "load_mame_model", _fake_model)
    paths = [_path(hostile_dir, case) for case in IMAGES]
    with pytest.raises(SystemExit) as exited:
        commands.main(["predict", *map(str, paths), "--project", str(project), "--no-met"])
    captured = capsys.readouterr()
    assert exited.value.code == 2 and "Traceback" not in captured.err
    results = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["image"] for r in results] == [
        str(_path(hostile_dir, c)) for c in IMAGES if not c.refused
    ]
    assert all(len(r["mame"]) == 4 for r in results)
    lines = captured.err.strip().splitlines()
    refused = [c for c in IMAGES if c.refused]
    assert len(lines) == len(refused)
    for line, case in zip(lines, refused, strict=True):
        assert line.startswith(f"error: {_path(hostile_dir, case)}: {case.reason}"), line
        assert "Fix:" in line
