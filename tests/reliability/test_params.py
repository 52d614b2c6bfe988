"""Hostile parameters: ``params.yaml`` (defaults and profile overlays) and ``--params`` overrides,
at ``load_params``, the Kedro config loader (``kedro run --params``) and ``artrec params``.

Valid keys are those of the defaults in ``params.yaml`` itself, so these tests work on a copy of
the real file and stay valid as keys are added to it.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from artrec import commands
from artrec.config import load_params, read_params_file
from artrec.errors import BadInputError
from artrec.settings import ProjectConfigLoader
from tests.reliability.hostile import artrec_cli, assert_one_line_error

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with a copy of the real params.yaml (what find_project_root looks for)."""
    root = tmp_path / "project"
    (root / "conf" / "base").mkdir(parents=True)
    (root / "conf" / "local").mkdir()
    shutil.copy(REPO / "params.yaml", root / "params.yaml")
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    return root


def _edit(root: Path, change) -> Path:
    raw = yaml.safe_load((root / "params.yaml").read_text())
    change(raw)
    (root / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return root / "params.yaml"


def _message(error: BaseException, *needles: str) -> str:
    message = str(error)
    assert "\n" not in message and "Fix:" in message, message
    for needle in needles:
        assert needle in message, (needle, message)
    return message


def test_the_real_params_and_every_profile_validate() -> None:
    profiles = read_params_file(REPO / "params.yaml").get("profiles") or {}
    for name in ["default", *profiles]:
        params = load_params(REPO, profile=name)
        assert params["profile"] == name


# ---- overrides (--params) ------------------------------------------------------------------------
OVERRIDE_CASES: dict[str, tuple[dict[str, Any], list[str]]] = {
    "typo_in_a_leaf": (
        {"train": {"mame": {"epoch": 3}}},
        ["unknown parameter 'train.mame.epoch'", "did you mean 'epochs'"],
    ),
    "typo_in_a_section": (
        {"trian": {"mame": {"epochs": 3}}},
        ["unknown parameter 'trian'", "did you mean 'train'"],
    ),
    "typo_in_a_middle_key": (
        {"preprocess": {"mmae": {"quality": 90}}},
        ["'preprocess.mmae'", "did you mean 'mame'"],
    ),
    "text_for_an_integer": (
        {"train": {"mame": {"epochs": "ten"}}},
        ["'train.mame.epochs'", "expected an integer"],
    ),
    "float_for_an_integer": (
        {"train": {"mame": {"epochs": 2.5}}},
        ["'train.mame.epochs'", "expected an integer"],
    ),
    "bool_for_an_integer": ({"seed": True}, ["'seed'", "expected an integer"]),
    "text_for_a_bool": (
        {"curate": {"mame": {"drop_greyscale": "yes please"}}},
        ["drop_greyscale", "true or false"],
    ),
    "scalar_for_a_section": ({"data": "official"}, ["'data'", "expected a mapping"]),
    "scalar_for_a_list": ({"knn": {"met": {"ks": 5}}}, ["'knn.met.ks'", "expected a list"]),
    "wrong_list_element": ({"knn": {"met": {"ks": [1, "two"]}}}, ["'knn.met.ks'", "'two'"]),
    "text_for_an_optional_integer": (
        {"train": {"mame": {"runtime": {"stop_after_epoch": "4"}}}},
        ["train.mame.runtime.stop_after_epoch", "valid integer"],
    ),
    "zero_epochs": (
        {"train": {"mame": {"epochs": 0}}},
        ["'train.mame.epochs' = 0", "greater than or equal to 1"],
    ),
    "negative_seed": ({"seed": -1}, ["'seed' = -1", "greater than or equal to 0"]),
    "fraction_above_one": (
        {"preprocess": {"mame": {"max_bad_fraction": 1.5}}},
        ["max_bad_fraction", "less than or equal to 1"],
    ),
    "quality_above_100": (
        {"preprocess": {"mame": {"quality": 101}}},
        ["quality", "less than or equal to 100"],
    ),
    "zero_pixel_limit": ({"preprocess": {"mame": {"max_image_pixels": 0}}}, ["max_image_pixels"]),
    "zero_met_pixel_limit": ({"embed": {"met": {"max_image_pixels": 0}}}, ["max_image_pixels"]),
    "infinite_learning_rate": (
        {"train": {"mame": {"lr": {"vgg11": {"lrfs": float("inf")}}}}},
        ["'train.mame.lr.vgg11.lrfs' = inf", "finite number"],
    ),
    "nan_fraction": (
        {"preprocess": {"mame": {"max_bad_fraction": float("nan")}}},
        ["max_bad_fraction", "finite number"],
    ),
    "negative_learning_rate": (
        {"train": {"mame": {"lr": {"vgg11": {"lrfs": -0.1}}}}},
        ["'train.mame.lr.vgg11.lrfs'", "greater than 0"],
    ),
    "zero_batch": ({"train": {"mame": {"inputs": {"lrfs": {"batch_size": 0}}}}}, ["batch_size"]),
    "zero_k": ({"knn": {"met": {"ks": [0, 1]}}}, ["'knn.met.ks.0' = 0"]),
    "empty_source": ({"data": {"mame": {"source": ""}}}, ["'data.mame.source'"]),
    "zero_image_size": (
        {"preprocess": {"mame": {"versions": {"lrfs": {"size": 0}}}}},
        ["versions.lrfs.size"],
    ),
    "unknown_profile": (
        {"profile": "papper"},
        ["unknown parameter profile 'papper'", "did you mean 'paper'"],
    ),
}


@pytest.mark.parametrize("case", sorted(OVERRIDE_CASES))
def test_overrides_are_refused_naming_key_and_fix(project: Path, case: str) -> None:
    overrides, needles = OVERRIDE_CASES[case]
    with pytest.raises(BadInputError) as caught:
        load_params(project, overrides=overrides)
    message = _message(caught.value, *needles)
    assert message.startswith("--params: "), message


@pytest.mark.parametrize(
    ("runtime_params", "needles"),
    [
        ({"train.mame.epochs": "ten"}, ["'train.mame.epochs'", "expected an integer"]),
        ({"train.mame.epochs": 0}, ["'train.mame.epochs' = 0", "greater than or equal to 1"]),
        ({"pcaw.met.shrinkage": float("inf")}, ["'pcaw.met.shrinkage' = inf", "finite"]),
        ({"profile": "papper"}, ["unknown parameter profile 'papper'", "did you mean 'paper'"]),
    ],
    ids=["wrong_type", "out_of_range", "infinite", "unknown_profile"],
)
def test_kedro_run_params_are_refused_naming_key_and_fix(
    project: Path, runtime_params: dict[str, Any], needles: list[str]
) -> None:
    # `kedro run --params KEY=VALUE` reaches the loader as these dotted runtime parameters.
    loader = ProjectConfigLoader(conf_source=str(project / "conf"), runtime_params=runtime_params)
    with pytest.raises(BadInputError) as caught:
        loader["parameters"]
    message = _message(caught.value, *needles)
    assert message.startswith("--params: "), message


def test_the_kedro_config_loader_refuses_bad_runtime_params(project: Path) -> None:
    # `kedro run --params train.mame.epoch=3` reaches the loader as a dotted runtime parameter.
    loader = ProjectConfigLoader(
        conf_source=str(project / "conf"), runtime_params={"train.mame.epoch": 3}
    )
    with pytest.raises(BadInputError) as caught:
        loader["parameters"]
    _message(caught.value, "--params", "did you mean 'epochs'")
    good = ProjectConfigLoader(
        conf_source=str(project / "conf"), runtime_params={"train.mame.runtime.stop_after_epoch": 1}
    )
    assert good["parameters"]["train"]["mame"]["runtime"]["stop_after_epoch"] == 1


# ---- the file itself -----------------------------------------------------------------------------
def _profile_typo(raw: dict) -> None:
    raw["profiles"]["tiny"]["train"]["mame"]["epcohs"] = 2


def _profile_type(raw: dict) -> None:
    raw["profiles"]["paper"]["curate"]["mame"]["min_images_per_class"] = "850"


def _profile_range(raw: dict) -> None:
    raw["profiles"]["tiny"]["pcaw"] = {"met": {"shrinkage": 2.0}}


def _default_range(raw: dict) -> None:
    raw["train"]["mame"]["epochs"] = -3


def _unknown_selected(raw: dict) -> None:
    raw["profile"] = "tinny"


def _profile_infinite(raw: dict) -> None:
    raw["profiles"]["paper"]["embed"]["met"]["gem_p"] = float("inf")  # written as .inf


def _profile_not_a_mapping(raw: dict) -> None:
    raw["profiles"]["tiny"] = ["epochs", 2]


FILE_CASES = {
    "typo_in_a_profile": (
        _profile_typo,
        "default",
        ["(profile 'tiny')", "'profiles.tiny.train.mame.epcohs'", "did you mean 'epochs'"],
    ),
    "wrong_type_in_a_profile": (
        _profile_type,
        "default",
        ["(profile 'paper')", "min_images_per_class", "expected an integer"],
    ),
    "out_of_range_in_the_selected_profile": (
        _profile_range,
        "tiny",
        ["(profile 'tiny')", "pcaw.met.shrinkage"],
    ),
    "out_of_range_default": (
        _default_range,
        "default",
        ["params.yaml:", "'train.mame.epochs' = -3"],
    ),
    "unknown_profile_selected": (
        _unknown_selected,
        None,
        ["unknown parameter profile 'tinny'", "did you mean 'tiny'"],
    ),
    "infinite_value_in_the_selected_profile": (
        _profile_infinite,
        "paper",
        ["(profile 'paper')", "'embed.met.gem_p' = inf", "finite number"],
    ),
    "profile_not_a_mapping": (
        _profile_not_a_mapping,
        "default",
        ["profile 'tiny' must be a mapping"],
    ),
}


@pytest.mark.parametrize("case", sorted(FILE_CASES))
def test_problems_in_params_yaml_name_the_file_and_the_key(project: Path, case: str) -> None:
    change, profile, needles = FILE_CASES[case]
    path = _edit(project, change)
    with pytest.raises(BadInputError) as caught:
        load_params(project, profile=profile)
    _message(caught.value, str(path), *needles)


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("seed: 0\nseed: 1\n", ["line 2", "duplicate key 'seed'"]),
        ("train:\n  mame:\n    epochs: 3\n   lr: 1\n", ["line 4", "invalid YAML"]),
        ("seed: [0\n", ["invalid YAML"]),
        ("- a list\n", ["mapping at the top level"]),
        ("", ["empty"]),
        (b"seed: 0\ntitle: caf\xe9\n", ["not UTF-8"]),
    ],
    ids=[
        "duplicate_key",
        "bad_indentation",
        "unclosed_bracket",
        "top_level_list",
        "empty",
        "invalid_utf8",
    ],
)
def test_a_broken_params_file_is_named(
    project: Path, text: str | bytes, needles: list[str]
) -> None:
    path = project / "params.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(BadInputError) as caught:
        load_params(project)
    _message(caught.value, str(path), *needles)


# ---- the command -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("arguments", "needles"),
    [
        (["--params", "train.mame.epoch=3"], ["--params", "did you mean 'epochs'"]),
        (["--params", "train.mame.epochs=zero"], ["expected an integer"]),
        (["--params", "train.mame.epochs"], ["is not KEY=VALUE"]),
        (["--profile", "papper"], ["--profile", "did you mean 'paper'"]),
    ],
)
def test_artrec_params_ends_with_one_line(
    project: Path, monkeypatch, capsys, arguments: list[str], needles: list[str]
) -> None:
    monkeypatch.chdir(project)
    with pytest.raises(SystemExit) as exited:
        commands.main(["params", *arguments])
    captured = capsys.readouterr()
    assert exited.value.code == 2 and captured.out == ""
    assert_one_line_error(captured.err, *needles)


def test_artrec_params_in_a_fresh_interpreter(project: Path) -> None:
    _edit(project, _profile_typo)
    result = artrec_cli("params", cwd=project)
    assert result.returncode == 2 and result.stdout == ""
    assert_one_line_error(result.stderr, str(project / "params.yaml"), "did you mean 'epochs'")
