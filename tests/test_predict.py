"""artrec predict: the parts that need no trained artifacts (the end-to-end tests run the rest)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from artrec.commands import build_parser
from artrec.errors import BadInputError
from artrec.predict import check_image, ood_threshold, predict


def test_ood_threshold_separates_queries_from_distractors():
    confidence = np.array([0.9, 0.8, 0.7, 0.3, 0.2, 0.75])
    inside = np.array([True, True, True, False, False, False])
    threshold = ood_threshold(confidence, inside)
    assert 0.3 < threshold <= 0.7
    assert ood_threshold(confidence, np.ones(6, bool)) == 0.0


def test_corrupt_and_missing_images_are_refused_in_one_line(tmp_path):
    good = tmp_path / "good.jpg"
    Image.new("RGB", (64, 48), (200, 10, 10)).save(good, quality=90)
    check_image(good)
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(good.read_bytes()[:200])
    with pytest.raises(BadInputError):
        check_image(corrupt)
    results, errors = predict([corrupt, tmp_path / "missing.jpg"], tmp_path)
    assert results == []
    assert len(errors) == 2 and "corrupt.jpg" in errors[0] and "missing.jpg" in errors[1]


def test_predict_is_an_artrec_command():
    args = build_parser().parse_args(["predict", "a.jpg", "--model", "models:/m/1"])
    assert args.images == ["a.jpg"] and args.model == "models:/m/1" and args.top == 5
