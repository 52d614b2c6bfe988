"""The transfer study's parameters: every profile resolves, bad values are refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from artrec.config import load_params
from artrec.errors import BadInputError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("profile", ["default", "tiny", "paper"])
def test_every_architecture_in_use_has_a_network(profile: str) -> None:
    transfer = load_params(ROOT, profile=profile)["transfer"]
    for arch in [*transfer["architectures"], *transfer["scratch_architectures"]]:
        assert {"theta", "input_size", "mean", "std"} <= set(transfer["networks"][arch])


def test_the_paper_profile_uses_the_papers_four_networks() -> None:
    params = load_params(ROOT, profile="paper")
    assert params["transfer"]["architectures"] == ["vgg19", "inception_v3", "xception", "resnet50"]
    assert params["transfer"]["training"]["patience"] == 7


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ({"transfer": {"training": {"patience": 0}}}, "transfer.training.patience"),
        ({"transfer": {"networks": {"resnet18": {"input_size": 8}}}}, "input_size"),
        ({"transfer": {"fine_tuning": {"optimizer": "adagrad"}}}, "transfer.fine_tuning.optimizer"),
        ({"curate": {"transfer": {"split": {"train": 1.2}}}}, "curate.transfer.split.train"),
        ({"curate": {"transfer": {"challenges": {"antwerp": ["year"]}}}}, "challenges"),
        ({"synth": {"rijksmuseum": {"anonymous_share": 2.0}}}, "anonymous_share"),
        ({"transfer": {"trainng": {}}}, "did you mean 'training'"),
    ],
)
def test_bad_values_are_refused(override: dict, needle: str) -> None:
    with pytest.raises(BadInputError, match=needle.replace(".", r"\.").replace("(", r"\(")):
        load_params(ROOT, overrides=override)
