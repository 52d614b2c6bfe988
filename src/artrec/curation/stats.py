"""MAMe dataset statistics: Table 1, the section 3.3 figures and the Figure 3 size/aspect plot."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

SUBSET_TITLES = {"train": "Train", "val": "Val", "test": "Test"}
MUSEUM_SHORT_NAMES = {
    "Metropolitan Museum of Art": "Met",
    "Los Angeles County Museum of Art": "Lac",
    "The Cleveland Museum of Art": "Cle",
}
_SHORT_NAME_KEYWORDS = {
    "metropolitan": "Met",
    "los angeles": "Lac",
    "lacma": "Lac",
    "cleveland": "Cle",
}


def museum_short_name(museum: str) -> str:
    """The paper's column name for a museum (Met, Lac, Cle); other museums keep their name."""
    if museum in MUSEUM_SHORT_NAMES:
        return MUSEUM_SHORT_NAMES[museum]
    lowered = museum.lower()
    for keyword, short in _SHORT_NAME_KEYWORDS.items():
        if keyword in lowered:
            return short
    return museum


def _museum_order(short_names: pd.Series) -> list[str]:
    known = ["Met", "Lac", "Cle"]
    present = set(short_names)
    return [m for m in known if m in present] + sorted(present - set(known))


def table1(df: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """Images per class, museum and split as in the paper's Table 1, plus a Total row.

    Columns: ``Medium``, ``Train Met/Lac/Cle``, ``Val ...``, ``Test ...``, ``Test Total``,
    ``All Met/Lac/Cle``, ``All Total``; rows in label order.
    """
    unknown = sorted(set(df["Medium"]) - set(labels))
    if unknown:
        raise ValueError(f"Medium values {unknown} are not among the labels")
    museums = df["Museum"].astype(str).map(museum_short_name)
    order = _museum_order(museums)
    counts = pd.crosstab(df["Medium"], [df["Subset"], museums]).reindex(labels, fill_value=0)

    columns: dict[str, pd.Series] = {}
    for subset, title in SUBSET_TITLES.items():
        for museum in order:
            key = (subset, museum)
            columns[f"{title} {museum}"] = (
                counts[key] if key in counts.columns else pd.Series(0, index=counts.index)
            )
    columns["Test Total"] = sum(columns[f"Test {m}"] for m in order)
    for museum in order:
        columns[f"All {museum}"] = sum(columns[f"{t} {museum}"] for t in SUBSET_TITLES.values())
    columns["All Total"] = sum(columns[f"All {m}"] for m in order)

    table = pd.DataFrame(columns).astype("int64")
    table.loc["Total"] = table.sum()
    return table.rename_axis("Medium").reset_index()


def dataset_statistics(df: pd.DataFrame) -> dict[str, Any]:
    """The section 3.3 figures: counts per split/museum/class, product sizes, aspect ratios."""
    width = df["Width"].astype("float64")
    height = df["Height"].astype("float64")
    product = width * height
    per_class = df.groupby("Medium").size()
    per_class_subset = df.groupby(["Medium", "Subset"]).size().unstack(fill_value=0)
    test = per_class_subset.get("test", pd.Series(0, index=per_class.index))
    largest = int(np.argmax(product.to_numpy()))
    aspect = width / height
    return {
        "images": len(df),
        "images_per_subset": {s: int((df["Subset"] == s).sum()) for s in SUBSET_TITLES},
        "images_per_museum": {str(k): int(v) for k, v in df["Museum"].value_counts().items()},
        "classes": int(df["Medium"].nunique()),
        "min_images_per_class": int(per_class.min()),
        "max_images_per_class": int(per_class.max()),
        "images_per_class_per_subset": {
            str(s): {"min": int(per_class_subset[s].min()), "max": int(per_class_subset[s].max())}
            for s in SUBSET_TITLES
            if s in per_class_subset.columns
        },
        "min_test_images_per_class": int(test.min()),
        "min_test_class": str(test.idxmin()),
        "max_test_images_per_class": int(test.max()),
        "min_product_size": int(product.min()),
        "mean_product_size_mp": float(product.mean() / 1e6),
        "median_product_size_mp": float(product.median() / 1e6),
        "largest_image": {
            "image_file": str(df["Image file"].iloc[largest]),
            "width": int(width.iloc[largest]),
            "height": int(height.iloc[largest]),
            "megapixels": float(product.iloc[largest] / 1e6),
        },
        "aspect_ratio_min": float(aspect.min()),
        "aspect_ratio_max": float(aspect.max()),
        "share_portrait": float((width < height).mean()),
        "share_landscape": float((width > height).mean()),
        "share_square": float((width == height).mean()),
    }


def plot_size_aspect(df: pd.DataFrame, labels: list[str]) -> Figure:
    """Figure 3 of the paper: per-class box plots of product size and aspect ratio (log scales),
    with a vertical line at aspect ratio 1.0 between portrait (left) and landscape (right)."""
    width = df["Width"].astype("float64")
    height = df["Height"].astype("float64")
    sizes = [(width * height)[df["Medium"] == label].to_numpy() for label in labels]
    aspects = [(width / height)[df["Medium"] == label].to_numpy() for label in labels]

    figure = Figure(figsize=(12, 0.32 * len(labels) + 1.5), layout="constrained")
    size_axis, aspect_axis = figure.subplots(1, 2, sharey=True)
    style = {"orientation": "horizontal", "showfliers": True, "flierprops": {"markersize": 2}}
    size_axis.boxplot(sizes, **style)
    aspect_axis.boxplot(aspects, **style)
    size_axis.set_yticks(range(1, len(labels) + 1), labels)
    size_axis.set_xscale("log")
    size_axis.set_xlabel("Product size (pixels, log scale)")
    aspect_axis.set_xscale("log")
    aspect_axis.set_xlabel("Aspect ratio (width / height, log scale)")
    aspect_axis.axvline(1.0, color="red", linewidth=1)
    size_axis.invert_yaxis()  # first label on top, as in the paper
    figure.suptitle("Product size and aspect ratio per class")
    return figure
