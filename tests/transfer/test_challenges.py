"""Challenges: labels per collection, the paper's 80/10/10 split keeping only classes present in
all three splits, Table 1."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from artrec.transfer.challenges import build_challenges, challenge_split, table1


def _collection(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    # Artist "rare" has 2 objects: it cannot be in all three splits.
    creators = np.where(rng.random(n) < 0.2, "anoniem", rng.choice(["A, a", "B, b", "C, c"], n))
    creators[:2] = "Rare, r"
    return pd.DataFrame(
        {
            "ImageId": [f"{i:07d}_X-{i}" for i in range(n)],
            "image": [f"jpg2/{i:07d}.jpg" for i in range(n)],
            "dc_creator": creators,
            "dc_materiaal": rng.choice(["papier", "olieverf", None], n, p=[0.6, 0.3, 0.1]),
            "dc_type": rng.choice(["prent", "schilderij"], n),
        }
    )


def test_split_is_80_10_10_and_reproducible() -> None:
    frame = challenge_split(_collection(), "type", seed=0)
    counts = frame["split"].value_counts()
    assert counts["train"] == 320 and counts["val"] == 40 and counts["test"] == 40
    assert frame.equals(challenge_split(_collection(), "type", seed=0))
    assert not frame["split"].equals(challenge_split(_collection(), "type", seed=1)["split"])


def test_artist_challenge_drops_anonymous_makers_and_rare_classes() -> None:
    frame = challenge_split(_collection(), "artist", seed=0)
    assert "anoniem" not in set(frame["label"]) and "Rare, r" not in set(frame["label"])
    assert frame.groupby("label")["split"].nunique().eq(3).all()


def test_missing_labels_are_left_out_and_an_absent_challenge_is_empty() -> None:
    collection = _collection()
    frame = challenge_split(collection, "material", seed=0)
    assert len(frame) == collection["dc_materiaal"].notna().sum()
    empty = challenge_split(collection.assign(dc_materiaal=None), "material", seed=0)
    assert empty.empty and list(empty.columns) == ["ImageId", "image", "label", "split"]
    with pytest.raises(ValueError, match="unknown challenge"):
        challenge_split(collection, "year", seed=0)


def test_table1_counts_and_overlap() -> None:
    first, second = _collection(400, 0), _collection(200, 1)
    second["dc_type"] = np.where(np.arange(200) % 2 == 0, "prent", "affiche")
    table = build_challenges({"r": first, "a": second}, {"r": ["type"], "a": ["type"]}, seed=0)
    t1 = table1(table, ["r", "a"], ["type"])
    row = t1[t1["collection"] == "a"].iloc[0]
    assert row["images"] == 200 and row["classes"] == 2 and row["overlap_pct"] == 50.0
    assert t1.loc[t1["collection"] == "r", "test_images"].iloc[0] == 40
