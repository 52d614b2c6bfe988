"""Curate nodes: turn each raw folder into a validated dataset table plus its statistics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from artrec.curation.labelmap import LabelMap, label_map_coverage, tate_coverage
from artrec.curation.mame import curate_museum_records, load_museum_records, load_official_mame
from artrec.curation.medium_tags import MediumTagger
from artrec.curation.stats import dataset_statistics, plot_size_aspect, table1
from artrec.curation.tate import curate_tate as curate_tate_records
from artrec.datasets.met import (
    class_size_counts,
    load_met_ground_truth,
    met_table1,
    plot_class_sizes,
)
from artrec.datasets.tate import find_metadata_file, read_tate_artworks

OFFICIAL_METADATA = "MAMe_dataset.csv"
SYNTHETIC_RECORDS = "museum_records.csv"


def curate_mame(
    raw_dir: Path, params: dict[str, Any], seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The MAMe dataset table (official CSV format), its labels, the drop log and label coverage.

    Official metadata is validated and used as it is; raw museum records (the synthetic
    museums, or any crawl in that layout) go through the label map, filters and splits.
    """
    label_map = LabelMap.load(Path(params["label_map"]))
    images_dir = raw_dir / "data"
    if (raw_dir / OFFICIAL_METADATA).is_file():
        dataset, labels = load_official_mame(raw_dir, images_dir if images_dir.is_dir() else None)
        dropped = pd.DataFrame(columns=["Image file", "reason"])
        coverage = label_map_coverage(dataset["Medium"], label_map)
    elif (raw_dir / SYNTHETIC_RECORDS).is_file():
        records = load_museum_records(raw_dir / SYNTHETIC_RECORDS)
        result = curate_museum_records(
            records,
            images_dir=images_dir,
            label_map=label_map,
            class_order=label_map.classes,
            min_product_size=int(params["min_product_size"]),
            drop_greyscale=bool(params["drop_greyscale"]),
            min_images_per_class=int(params["min_images_per_class"]),
            split_sizes=dict(params["split"]),
            seed=seed,
        )
        dataset, labels, dropped = result.dataset, result.labels, result.dropped
        coverage = label_map_coverage(records["Medium"], label_map)
    else:
        raise FileNotFoundError(
            f"{raw_dir} holds neither {OFFICIAL_METADATA} (official MAMe) nor "
            f"{SYNTHETIC_RECORDS} (raw museum records); check data.mame.source in params.yaml."
        )
    labels_frame = pd.DataFrame({"index": range(len(labels)), "name": labels})
    return dataset, labels_frame, dropped, coverage


def mame_statistics(
    dataset: pd.DataFrame, labels: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any], Figure, dict[str, Any]]:
    """Table 1, the section 3.3 figures, the Figure 3-style plot and the Tate label-map coverage."""
    names = labels["name"].tolist()
    stats = dataset_statistics(dataset)
    tate_path = Path(str(params.get("tate_metadata") or ""))
    tate = (
        tate_coverage(tate_path, LabelMap.load(Path(params["label_map"])))
        if tate_path.is_file()
        else {"available": False}
    )
    return table1(dataset, names), stats, plot_size_aspect(dataset, names), tate


def curate_met(raw_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, Figure, dict[str, Any]]:
    """Validate the Met ground truth; Table 1 counts and the class-size long tail (Figure 5)."""
    ground_truth = load_met_ground_truth(raw_dir, check_images=True)
    table = met_table1(ground_truth)
    sizes = class_size_counts(ground_truth)
    summary = {
        "train_images": int(len(ground_truth.train_paths)),
        "classes": int(len(set(ground_truth.train_ids))),
    }
    return table, sizes, plot_class_sizes(ground_truth), summary


def curate_tate(
    raw_dir: Path, params: dict[str, Any], seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """The Tate media dataset: the ``curate.tate.n_classes`` most frequent descriptions, their
    thumbnails split per class, the medium tags of each class (``artrec.curation.tate``)."""
    records = read_tate_artworks(find_metadata_file(raw_dir))
    result = curate_tate_records(
        records,
        raw_dir,
        MediumTagger.load(params["tag_vocabulary"]),
        n_classes=int(params["n_classes"]),
        split=dict(params["split"]),
        seed=seed,
    )
    return result.dataset, result.classes, result.dropped, result.metrics
