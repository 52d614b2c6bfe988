"""The classification challenges of a collection: labels, the 80/10/10 split, Table 1.

The paper (section 2.2) uses 80% of a collection's objects for training and 10% each for
validation and testing, "and only classes which occur at least once in all the splits". Its
released code splits with scikit-learn's ``train_test_split`` twice (20% held out, then halved),
unstratified; we do the same, per challenge, then keep the classes present in all three splits.
The artist challenge leaves out anonymous and unknown makers, as the paper's code drops
``" anoniem"`` and empty creators.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from artrec.datasets.rijksmuseum import is_artist

# Challenge -> the collection table's label column (artrec.datasets.rijksmuseum).
CHALLENGE_LABELS: dict[str, str] = {
    "material": "dc_materiaal",
    "type": "dc_type",
    "artist": "dc_creator",
}
SPLITS: tuple[str, ...] = ("train", "val", "test")
CHALLENGE_COLUMNS: tuple[str, ...] = (
    "collection",
    "challenge",
    "ImageId",
    "image",
    "label",
    "split",
)


def _random_state(seed: int, challenge: str) -> int:
    # A well-mixed 32-bit seed per challenge (the paper used one fixed random_state).
    code = sorted(CHALLENGE_LABELS).index(challenge)
    return int(np.random.SeedSequence([seed, code]).generate_state(1)[0])


def challenge_split(
    collection: pd.DataFrame,
    challenge: str,
    seed: int,
    train: float = 0.8,
    val: float = 0.1,
) -> pd.DataFrame:
    """Objects with a label for ``challenge``, split train/val/test, rare classes removed.

    Returns columns ``ImageId``, ``image``, ``label``, ``split`` in the collection's order. Only
    classes with at least one object in each split stay (the paper's rule); an empty frame when
    the collection has no label for this challenge (the Antwerp collection has no material).
    """
    if challenge not in CHALLENGE_LABELS:
        raise ValueError(f"unknown challenge {challenge!r}; known: {sorted(CHALLENGE_LABELS)}")
    if not (0 < train < 1 and 0 < val < 1 and train + val < 1):
        raise ValueError(f"split fractions must leave a test set: train {train}, val {val}")
    labels = collection[CHALLENGE_LABELS[challenge]]
    usable = labels.notna() & (labels.astype(str).str.strip() != "")
    if challenge == "artist":
        usable &= labels.map(lambda c: is_artist(c) if isinstance(c, str) else False)
    frame = collection.loc[usable, ["ImageId", "image"]].assign(label=labels[usable].astype(str))
    columns = ["ImageId", "image", "label", "split"]
    if len(frame) < 3:
        return pd.DataFrame(columns=columns)
    state = _random_state(seed, challenge)
    positions = np.arange(len(frame))
    train_idx, rest = train_test_split(positions, test_size=1.0 - train, random_state=state)
    val_idx, test_idx = train_test_split(
        rest, test_size=(1.0 - train - val) / (1.0 - train), random_state=state
    )
    split = np.empty(len(frame), dtype=object)
    split[train_idx], split[val_idx], split[test_idx] = "train", "val", "test"
    frame = frame.assign(split=split)
    present = frame.groupby("label")["split"].nunique()
    kept = present.index[present == len(SPLITS)]
    return frame[frame["label"].isin(kept)].reset_index(drop=True)[columns]


def build_challenges(
    collections: Mapping[str, pd.DataFrame],
    challenges: Mapping[str, Sequence[str]],
    seed: int,
    train: float = 0.8,
    val: float = 0.1,
) -> pd.DataFrame:
    """Every (collection, challenge) split in one long table (``CHALLENGE_COLUMNS``)."""
    parts = []
    for name, wanted in challenges.items():
        for challenge in wanted:
            part = challenge_split(collections[name], challenge, seed, train, val)
            parts.append(part.assign(collection=name, challenge=challenge))
    if not parts:
        return pd.DataFrame(columns=list(CHALLENGE_COLUMNS))
    return pd.concat(parts, ignore_index=True)[list(CHALLENGE_COLUMNS)]


def table1(
    table: pd.DataFrame, collections: Sequence[str], challenges: Sequence[str]
) -> pd.DataFrame:
    """The paper's Table 1: images (N_t) and classes (Q_t) per challenge and collection, and the
    share of the later collections' classes that also occur in the first collection."""
    first = collections[0]
    rows = []
    for challenge in challenges:
        first_classes = set(
            table.loc[(table["collection"] == first) & (table["challenge"] == challenge), "label"]
        )
        for name in collections:
            part = table[(table["collection"] == name) & (table["challenge"] == challenge)]
            classes = set(part["label"])
            overlap = (
                100.0 * len(classes & first_classes) / len(classes)
                if name != first and classes
                else np.nan
            )
            rows.append(
                {
                    "challenge": challenge,
                    "collection": name,
                    "images": len(part),
                    "classes": len(classes),
                    **{f"{split}_images": int((part["split"] == split).sum()) for split in SPLITS},
                    "overlap_pct": overlap,
                }
            )
    return pd.DataFrame(rows)
