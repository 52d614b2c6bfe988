"""Reading the Tate metadata: the project's flattened file (plain or gzip), the official CSV,
thumbnail paths, sizes; and the real file when ``../shared`` is present."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pandas as pd
import pytest

from artrec.datasets.tate import (
    OFFICIAL_CSV_COLUMNS,
    TATE_COLUMNS,
    find_metadata_file,
    image_path,
    numeric_size_mm,
    read_tate_artworks,
    thumbnail_relpath,
    thumbnail_relpaths,
)
from artrec.errors import MissingInputError

HEADER = ",".join(TATE_COLUMNS)
ROWS = [
    '1035,A00001,Robert Blake,"Watercolour, ink, chalk and graphite on paper. Verso: graphite on '
    'paper","on paper, unique",date not known,1922.0,394,419,mm,'
    "http://www.tate.org.uk/art/images/work/A/A00/A00001_8.jpg",
    '1036,A00002,Robert Blake,Graphite on paper,"on paper, unique",,1922.0,(1):,213,mm,',
    "3,T07799,Christopher Wood,Oil paint on canvas,painting,1929,,650,810,,"
    "http://www.tate.org.uk/art/images/work/T/T07/T07799_8.jpg",
]
REAL_MD5 = "7bb2a992942a3135f00f0b81a9d02eab"


def flat_csv(rows: list[str] = ROWS, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def test_reads_the_flattened_file_as_text(tmp_path: Path) -> None:
    path = tmp_path / "tate_artworks.csv"
    path.write_text(flat_csv())
    frame = read_tate_artworks(path)
    assert list(frame.columns) == list(TATE_COLUMNS)
    assert frame["id"].tolist() == ["1035", "1036", "3"]
    # untidy but real values are kept as they are, empty cells as ""
    assert frame.loc[1, "width"] == "(1):"
    assert frame.loc[1, "dateText"] == "" and frame.loc[2, "units"] == ""
    assert frame.loc[0, "medium"].endswith("Verso: graphite on paper")


def test_gzip_and_plain_give_the_same_frame(tmp_path: Path) -> None:
    plain, packed = tmp_path / "tate_artworks.csv", tmp_path / "tate_artworks.csv.gz"
    plain.write_text(flat_csv())
    packed.write_bytes(gzip.compress(flat_csv().encode()))
    pd.testing.assert_frame_equal(read_tate_artworks(plain), read_tate_artworks(packed))


def test_official_csv_with_bom_is_mapped_onto_the_columns(tmp_path: Path) -> None:
    header = ",".join(OFFICIAL_CSV_COLUMNS)
    row = (
        '1035,A00001,"Blake, Robert",artist,38,A Figure,date not known,"Watercolour on paper",'
        "Presented 1922,,1922,support: 394 x 419 mm,394,419,,mm,,,"
        "http://www.tate.org.uk/art/images/work/A/A00/A00001_8.jpg,http://x/a"
    )
    path = tmp_path / "artwork_data.csv"
    path.write_bytes(("\ufeff" + header + "\n" + row + "\n").encode("utf-8"))
    frame = read_tate_artworks(path)
    assert list(frame.columns) == list(TATE_COLUMNS)
    record = frame.iloc[0]
    assert record["acno"] == "A00001" and record["all_artists"] == "Blake, Robert"
    assert record["classification"] == "" and record["medium"] == "Watercolour on paper"
    assert find_metadata_file(tmp_path) == path


def test_find_metadata_file_prefers_the_flattened_file(tmp_path: Path) -> None:
    with pytest.raises(MissingInputError, match="holds none of"):
        find_metadata_file(tmp_path)
    (tmp_path / "artwork_data.csv").write_text("x")
    (tmp_path / "tate_artworks.csv.gz").write_text("x")
    assert find_metadata_file(tmp_path).name == "tate_artworks.csv.gz"


def test_thumbnail_paths_mirror_the_url_below_the_images_folder(tmp_path: Path) -> None:
    url = "http://www.tate.org.uk/art/images/work/A/A00/A00001_8.jpg"
    assert thumbnail_relpath(url) == "images/A/A00/A00001_8.jpg"
    assert image_path(tmp_path, url) == tmp_path / "images" / "A" / "A00" / "A00001_8.jpg"
    assert thumbnail_relpath("https://mirror.org/thumbs/x.jpg?size=8") == "images/thumbs/x.jpg"
    paths = thumbnail_relpaths(pd.Series([url, "", "http://x/a/../../b.jpg"]))
    assert paths.iloc[0] == "images/A/A00/A00001_8.jpg"
    assert paths.iloc[1:].isna().all()


def test_sizes_in_mm_where_they_are_numbers() -> None:
    frame = pd.DataFrame(
        {
            "width": ["394", "(1):", "12.5", ""],
            "height": ["419", "3", "2", ""],
            "units": ["mm", "mm", "cm", ""],
        }
    )
    sizes = numeric_size_mm(frame)
    assert sizes["width"].tolist()[0] == 394.0 and sizes["width"].tolist()[2] == 125.0
    assert sizes["width"].isna().tolist() == [False, True, False, True]


def test_the_real_file_reads_whole(shared_dir: Path) -> None:
    path = shared_dir / "data" / "tate" / "tate_artworks.csv.gz"
    if not path.is_file():
        pytest.skip("the real Tate metadata is not present")
    assert hashlib.md5(path.read_bytes()).hexdigest() == REAL_MD5
    frame = read_tate_artworks(path)
    assert len(frame) == 69_202
    assert frame["medium"].nunique() == 3_414  # 3,413 descriptions and the empty one
    assert int((frame["medium"] == "").sum()) == 6_384
    with_url = frame["thumbnailUrl"] != ""
    paths = thumbnail_relpaths(frame.loc[with_url, "thumbnailUrl"])
    assert paths.notna().all() and paths.is_unique
    assert paths.str.startswith("images/").all()
