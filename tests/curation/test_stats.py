"""Table 1, the section 3.3 statistics and the Figure 3 plot, on small data and on real MAMe."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure

from artrec.curation.mame import MAME_LABELS, load_official_mame
from artrec.curation.stats import dataset_statistics, museum_short_name, plot_size_aspect, table1

TABLE1_COLUMNS = [
    "Train Met", "Train Lac", "Train Cle", "Val Met", "Val Lac", "Val Cle",
    "Test Met", "Test Lac", "Test Cle", "Test Total", "All Met", "All Lac", "All Cle", "All Total",
]  # fmt: skip

# Table 1 of the MAMe paper (papers/mame_dataset_paper.txt), transcribed cell by cell.
PAPER_TABLE1 = {
    "Albumen photograph": (700, 0, 0, 50, 0, 0, 700, 0, 0, 700, 1450, 0, 0, 1450),
    "Bronze": (234, 233, 233, 16, 17, 17, 233, 233, 234, 700, 483, 483, 484, 1450),
    "Ceramic": (242, 242, 216, 17, 18, 15, 241, 241, 218, 700, 500, 501, 449, 1450),
    "Clay": (695, 5, 0, 49, 1, 0, 310, 2, 1, 313, 1054, 8, 1, 1063),
    "Engraving": (234, 233, 233, 16, 17, 17, 233, 234, 233, 700, 483, 484, 483, 1450),
    "Etching": (234, 233, 233, 16, 17, 17, 233, 234, 233, 700, 483, 484, 483, 1450),
    "Faience": (599, 63, 38, 43, 5, 2, 598, 63, 39, 700, 1240, 131, 79, 1450),
    "Glass": (576, 53, 71, 41, 3, 6, 575, 55, 70, 700, 1192, 111, 147, 1450),
    "Gold": (448, 95, 157, 32, 7, 11, 448, 96, 156, 700, 928, 198, 324, 1450),
    "Graphite": (565, 8, 127, 40, 0, 10, 151, 3, 34, 188, 756, 11, 171, 938),
    "Hand-colored engraving": (30, 641, 29, 3, 45, 2, 14, 300, 14, 328, 47, 986, 45, 1078),
    "Hand-colored etching": (699, 1, 0, 50, 0, 0, 582, 2, 0, 584, 1331, 3, 0, 1334),
    "Iron": (569, 2, 129, 40, 0, 10, 215, 1, 49, 265, 824, 3, 188, 1015),
    "Ivory": (611, 31, 58, 43, 2, 5, 498, 27, 47, 572, 1152, 60, 110, 1322),
    "Limestone": (593, 56, 51, 42, 5, 3, 591, 56, 53, 700, 1226, 117, 107, 1450),
    "Lithograph": (277, 147, 276, 19, 11, 20, 276, 148, 276, 700, 572, 306, 572, 1450),
    "Marble": (520, 86, 94, 37, 6, 7, 190, 32, 35, 257, 747, 124, 136, 1007),
    "Oil on canvas": (265, 171, 264, 18, 12, 20, 264, 172, 264, 700, 547, 355, 548, 1450),
    "Pen and brown ink": (665, 12, 23, 47, 1, 2, 271, 6, 9, 286, 983, 19, 34, 1036),
    "Polychromed wood": (525, 59, 116, 37, 4, 9, 281, 32, 62, 375, 843, 95, 187, 1125),
    "Porcelain": (447, 56, 197, 31, 4, 15, 446, 57, 197, 700, 924, 117, 409, 1450),
    "Silk and metal thread": (680, 0, 20, 48, 0, 2, 92, 1, 2, 95, 820, 1, 24, 845),
    "Silver": (452, 81, 167, 32, 5, 13, 450, 83, 167, 700, 934, 169, 347, 1450),
    "Steel": (628, 0, 72, 44, 0, 6, 118, 1, 14, 133, 790, 1, 92, 883),
    "Wood": (577, 43, 80, 41, 3, 6, 576, 44, 80, 700, 1194, 90, 166, 1450),
    "Wood engraving": (410, 15, 275, 29, 1, 20, 211, 9, 141, 361, 650, 25, 436, 1111),
    "Woodblock": (259, 258, 183, 18, 19, 13, 258, 258, 184, 700, 535, 535, 380, 1450),
    "Woodcut": (417, 51, 232, 30, 3, 17, 416, 52, 232, 700, 863, 106, 481, 1450),
    "Woven fabric": (658, 3, 39, 46, 0, 4, 656, 5, 39, 700, 1360, 8, 82, 1450),
}


def _frame(rows: list[tuple[str, str, str, int, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            (f"{i}.jpg", medium, museum, str(i), subset, float(w), float(h), float(w * h), w / h)
            for i, (medium, museum, subset, w, h) in enumerate(rows)
        ],
        columns=[
            "Image file", "Medium", "Museum", "Museum-based instance ID", "Subset",
            "Width", "Height", "Product size", "Aspect ratio",
        ],
    )  # fmt: skip


@pytest.fixture()
def small() -> pd.DataFrame:
    met, lac, cle = (
        "Metropolitan Museum of Art",
        "Los Angeles County Museum of Art",
        "The Cleveland Museum of Art",
    )
    return _frame(
        [
            ("Bronze", met, "train", 1000, 500),
            ("Bronze", lac, "train", 500, 1000),
            ("Bronze", cle, "val", 600, 600),
            ("Bronze", met, "test", 2000, 1000),
            ("Glass", met, "train", 700, 1000),
            ("Glass", cle, "test", 800, 1000),
            ("Glass", cle, "test", 900, 1000),
        ]
    )


def test_table1_counts_per_class_museum_and_split(small: pd.DataFrame) -> None:
    table = table1(small, ["Bronze", "Glass", "Gold"])
    assert table.columns.tolist() == ["Medium", *TABLE1_COLUMNS]
    rows = table.set_index("Medium")
    assert rows.loc["Bronze"].tolist() == [1, 1, 0, 0, 0, 1, 1, 0, 0, 1, 2, 1, 1, 4]
    assert rows.loc["Glass"].tolist() == [1, 0, 0, 0, 0, 0, 0, 0, 2, 2, 1, 0, 2, 3]
    assert rows.loc["Gold"].sum() == 0  # a label without images keeps its row
    assert rows.loc["Total"].tolist() == rows.drop(index="Total").sum().tolist()
    with pytest.raises(ValueError, match="Glass"):
        table1(small, ["Bronze"])


def test_museum_short_names() -> None:
    assert museum_short_name("Metropolitan Museum of Art") == "Met"
    assert museum_short_name("The Cleveland Museum of Art") == "Cle"
    assert museum_short_name("LACMA") == "Lac"
    assert museum_short_name("Rijksmuseum") == "Rijksmuseum"


def test_dataset_statistics(small: pd.DataFrame) -> None:
    stats = dataset_statistics(small)
    assert stats["images"] == 7
    assert stats["images_per_subset"] == {"train": 3, "val": 1, "test": 3}
    assert stats["images_per_museum"]["The Cleveland Museum of Art"] == 3
    assert stats["classes"] == 2
    assert (stats["min_images_per_class"], stats["max_images_per_class"]) == (3, 4)
    assert (stats["min_test_images_per_class"], stats["min_test_class"]) == (1, "Bronze")
    assert stats["min_product_size"] == 360_000
    sizes = [500_000, 500_000, 360_000, 2_000_000, 700_000, 800_000, 900_000]
    assert stats["mean_product_size_mp"] == pytest.approx(sum(sizes) / 7 / 1e6)
    assert stats["largest_image"] == {
        "image_file": "3.jpg",
        "width": 2000,
        "height": 1000,
        "megapixels": 2.0,
    }
    assert stats["aspect_ratio_min"] == pytest.approx(0.5)
    assert stats["aspect_ratio_max"] == pytest.approx(2.0)
    assert stats["share_portrait"] == pytest.approx(4 / 7)
    assert stats["share_landscape"] == pytest.approx(2 / 7)
    assert stats["share_square"] == pytest.approx(1 / 7)


def test_plot_size_aspect(small: pd.DataFrame) -> None:
    figure = plot_size_aspect(small, ["Bronze", "Glass"])
    assert isinstance(figure, Figure)
    size_axis, aspect_axis = figure.axes
    assert size_axis.get_xscale() == "log" and aspect_axis.get_xscale() == "log"
    assert [t.get_text() for t in size_axis.get_yticklabels()] == ["Bronze", "Glass"]
    assert any(list(line.get_xdata()) == [1.0, 1.0] for line in aspect_axis.get_lines())


# ---- the real MAMe metadata reproduces the paper -------------------------------------------------
@pytest.fixture(scope="module")
def official(request) -> tuple[pd.DataFrame, list[str]]:
    shared: Path = request.getfixturevalue("shared_dir")
    return load_official_mame(shared / "data" / "mame")


def test_table1_matches_the_paper_cell_by_cell(official) -> None:
    dataset, labels = official
    assert labels == list(PAPER_TABLE1) == list(MAME_LABELS)
    table = table1(dataset, labels).set_index("Medium")
    for label, cells in PAPER_TABLE1.items():
        assert tuple(table.loc[label, TABLE1_COLUMNS]) == cells, label
    totals = table.loc["Total"]
    assert totals["All Total"] == 37407
    assert (totals["All Met"], totals["All Lac"], totals["All Cle"]) == (24911, 5531, 6965)
    assert totals["Test Total"] == 15657


def test_section_3_3_figures(official) -> None:
    dataset, _ = official
    stats = dataset_statistics(dataset)
    assert stats["images"] == 37407
    assert stats["images_per_subset"] == {"train": 20300, "val": 1450, "test": 15657}
    assert stats["images_per_museum"] == {
        "Metropolitan Museum of Art": 24911,
        "The Cleveland Museum of Art": 6965,
        "Los Angeles County Museum of Art": 5531,
    }
    assert stats["classes"] == 29
    assert (stats["min_images_per_class"], stats["max_images_per_class"]) == (845, 1450)
    assert stats["images_per_class_per_subset"]["train"] == {"min": 700, "max": 700}
    assert stats["images_per_class_per_subset"]["val"] == {"min": 50, "max": 50}
    assert stats["min_test_images_per_class"] == 95
    assert stats["min_test_class"] == "Silk and metal thread"
    assert stats["max_test_images_per_class"] == 700
    assert stats["min_product_size"] >= 250_000
    largest = stats["largest_image"]
    assert (largest["width"], largest["height"]) == (32683, 11412)
    assert largest["megapixels"] > 370
    assert round(stats["mean_product_size_mp"], 1) == 10.3  # section 3.3 (section 2 says 6.6)
    assert stats["aspect_ratio_min"] == pytest.approx(0.11, abs=0.005)
    assert stats["aspect_ratio_max"] == pytest.approx(15.0, abs=0.01)
