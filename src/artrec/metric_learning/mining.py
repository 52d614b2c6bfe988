"""Pairs of the contrastive methods (paper section 3, the Met code's ``MET_pairs_dataset``).

Each epoch every training image is an anchor once, with one positive pair and one negative pair.
Before the epoch, the descriptors of the current model give:

- the hard negative: one image drawn at random among the anchor's ``pool`` (10) most similar
  images of other classes (FAISS inner-product search over the L2-normalised descriptors,
  :mod:`artrec.retrieval.knn`);
- the positive, by rule (an index equal to the anchor's means the augmented anchor itself):
  ``syn``: always the anchor (a synthetic positive); ``syn_real``: a random image of the
  anchor's class, the anchor included, so each one (and the synthetic positive) has probability
  1/|class|; ``syn_real_closest``: with probability 1/2 the anchor, else the most similar other
  image of its class. Single-image classes always get the synthetic positive.
"""

from __future__ import annotations

import numpy as np

from artrec.retrieval.knn import build_index, search

POSITIVE_RULES = ("syn", "syn_real", "syn_real_closest")


def hard_negatives(
    descriptors: np.ndarray, labels: np.ndarray, rng: np.random.Generator, pool: int = 10
) -> np.ndarray:
    """For each image, a random one of its ``pool`` most similar images of another class.

    Searches ``pool`` + the largest class size neighbours, enough to find ``pool`` images of
    other classes (fewer only when the database has fewer). Raises when an image has none.
    """
    labels = np.asarray(labels)
    n = len(labels)
    largest = int(np.bincount(labels).max())
    k = min(n, pool + largest)
    _, neighbours = search(build_index(np.asarray(descriptors, np.float32)), descriptors, k)
    chosen = np.empty(n, dtype=np.int64)
    for i in range(n):
        row = neighbours[i]
        others = row[(row >= 0) & (labels[np.maximum(row, 0)] != labels[i])][:pool]
        if len(others) == 0:
            raise ValueError("a hard negative needs images of at least two classes")
        chosen[i] = others[rng.integers(len(others))]
    return chosen


def positives(
    labels: np.ndarray,
    rule: str,
    rng: np.random.Generator,
    descriptors: np.ndarray | None = None,
) -> np.ndarray:
    """The positive of each anchor under ``rule`` (see the module docstring)."""
    if rule not in POSITIVE_RULES:
        raise ValueError(f"positive rule must be one of {POSITIVE_RULES}, got {rule!r}")
    labels = np.asarray(labels)
    n = len(labels)
    chosen = np.arange(n)
    if rule == "syn":
        return chosen
    if rule == "syn_real_closest" and descriptors is None:
        raise ValueError("syn_real_closest needs the descriptors of the current model")
    members = {c: np.flatnonzero(labels == c) for c in np.unique(labels)}
    for i in range(n):
        same = members[labels[i]]
        if len(same) == 1:
            continue
        if rule == "syn_real":
            chosen[i] = same[rng.integers(len(same))]
        elif rng.random() >= 0.5:
            others = same[same != i]
            similarity = descriptors[others] @ descriptors[i]
            chosen[i] = others[int(np.argmax(similarity))]
    return chosen


def epoch_pairs(
    labels: np.ndarray,
    rule: str,
    rng: np.random.Generator,
    descriptors: np.ndarray | None = None,
    pool: int = 10,
    negatives: bool = True,
) -> np.ndarray:
    """(pairs, 3) rows ``[anchor, other, is_positive]``: every anchor's positive pair, then (with
    ``negatives``) every anchor's negative pair. The positives are drawn before the negatives,
    so a rule's positives do not depend on whether negatives are mined."""
    n = len(labels)
    anchors = np.arange(n)
    rows = [np.stack([anchors, positives(labels, rule, rng, descriptors), np.ones(n, int)], 1)]
    if negatives:
        if descriptors is None:
            raise ValueError("hard negatives need the descriptors of the current model")
        mined = hard_negatives(descriptors, labels, rng, pool)
        rows.append(np.stack([anchors, mined, np.zeros(n, int)], 1))
    return np.concatenate(rows).astype(np.int64)
