"""Hostile Tate metadata: every case ends in a one-line :class:`BadInputError` naming the file
(and the line and column where there is one), the problem and the fix; nothing is accepted
silently. The real file's untidy values (sizes such as "(1):", empty media) are not errors."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from artrec.datasets.tate import TATE_COLUMNS, read_tate_artworks
from artrec.errors import BadInputError, MissingInputError
from tests.datasets.test_tate import HEADER, ROWS, flat_csv


def _one_line(error: BaseException, *needles: str) -> str:
    message = str(error)
    assert "\n" not in message and "Fix:" in message, message
    for needle in needles:
        assert needle in message, (needle, message)
    return message


def _cells(row: int, column: str, value: str) -> str:
    """ROWS with one cell replaced (ROWS[0] holds quoted commas, so rows are rebuilt)."""
    rows = [
        "1035,A00001,Robert Blake,Graphite on paper,painting,1922,1922.0,394,419,mm,"
        "http://www.tate.org.uk/art/images/work/A/A00/A00001_8.jpg",
        "1036,A00002,Robert Blake,Graphite on paper,painting,,1922.0,300,213,mm,",
    ]
    cells = [r.split(",") for r in rows]
    cells[row][TATE_COLUMNS.index(column)] = value
    return flat_csv([",".join(c) for c in cells])


CASES: dict[str, tuple[bytes | str, tuple[str, ...]]] = {
    # wrong or missing columns
    "missing_column": (
        flat_csv([r.rsplit(",", 1)[0] for r in ROWS], HEADER.rsplit(",", 1)[0]),
        ("missing columns ['thumbnailUrl']",),
    ),
    "renamed_column": (flat_csv(header=HEADER.replace("acno", "accession")), ("missing",)),
    "extra_column": (flat_csv([r + ",x" for r in ROWS], HEADER + ",note"), ("unexpected",)),
    "repeated_column": (
        flat_csv([r + ",x" for r in ROWS], HEADER + ",medium"),
        ("repeated columns ['medium']",),
    ),
    # bad values
    "id_not_a_number": (_cells(1, "id", "12a"), ("line 3", "'id'", "positive integer")),
    "id_zero": (_cells(0, "id", "0"), ("line 2", "'id'")),
    "accession_number": (_cells(0, "acno", "a-01"), ("line 2", "'acno'")),
    "year_out_of_range": (_cells(1, "acquisitionYear", "3022.0"), ("'acquisitionYear'",)),
    "year_not_a_number": (_cells(1, "acquisitionYear", "c.1922"), ("'acquisitionYear'",)),
    "unknown_units": (_cells(0, "units", "furlongs"), ("'units'", "mm, cm")),
    "url_not_http": (_cells(0, "thumbnailUrl", "ftp://tate.org.uk/a.jpg"), ("'thumbnailUrl'",)),
    "url_with_space": (_cells(0, "thumbnailUrl", "http://x/a b.jpg"), ("'thumbnailUrl'",)),
    # paths leaving the data folder
    "path_dot_dot": (_cells(0, "thumbnailUrl", "http://x/../../etc/passwd"), ("outside",)),
    "path_encoded_dot_dot": (_cells(0, "thumbnailUrl", "http://x/a/%2e%2e/%2E%2E/b"), ("outside",)),
    "path_backslash": (_cells(0, "thumbnailUrl", "http://x/a\\..\\b.jpg"), ("outside",)),
    "path_encoded_nul": (_cells(0, "thumbnailUrl", "http://x/a%00.jpg"), ("outside",)),
    "path_empty": (_cells(0, "thumbnailUrl", "http://x/"), ("'thumbnailUrl'",)),
    # duplicates
    "duplicated_id": (_cells(1, "id", "1035"), ("line 3", "'id'", "repeats line 2")),
    "duplicated_accession": (_cells(1, "acno", "A00001"), ("line 3", "'acno'", "repeats")),
    # broken files
    "empty_file": (b"", ("empty",)),
    "header_only": (HEADER + "\n", ("no artworks",)),
    "ragged_row": (
        flat_csv(["1,A1,x,y,z,1900,1900.0,1,2,mm,,extra"]),
        ("line 2", "12 fields where the header has 11"),
    ),
    "short_row": (flat_csv([*ROWS[1:], "5,A5,x"]), ("line 4", "3 fields")),
    "unclosed_quote": (flat_csv(['1,A1,x,"Graphite on paper,z,1900']), ("not a readable CSV",)),
    "invalid_utf8": (
        flat_csv().encode().replace(b"Robert", b"Rob\xe9rt", 1),
        ("line 2", "not valid UTF-8", "0xe9"),
    ),
    "binary_file": (b"\x00\x01\x02\xff\xfe" * 40, ("UTF-8",)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_metadata_is_refused_in_one_line(tmp_path: Path, case: str) -> None:
    content, needles = CASES[case]
    path = tmp_path / "tate_artworks.csv"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    with pytest.raises(BadInputError) as raised:
        read_tate_artworks(path)
    _one_line(raised.value, str(path), *needles)


@pytest.mark.parametrize("cut", [0.3, 0.9, -4])
def test_truncated_gzip_is_refused(tmp_path: Path, cut: float) -> None:
    packed = gzip.compress(flat_csv().encode() * 20)
    end = int(len(packed) * cut) if cut > 0 else len(packed) + int(cut)
    path = tmp_path / "tate_artworks.csv.gz"
    path.write_bytes(packed[:end])
    with pytest.raises(BadInputError) as raised:
        read_tate_artworks(path)
    _one_line(raised.value, str(path), "truncated or damaged gzip", "7bb2a992")


def test_damaged_gzip_is_refused(tmp_path: Path) -> None:
    packed = bytearray(gzip.compress(flat_csv().encode() * 20))
    packed[len(packed) // 2] ^= 0xFF
    path = tmp_path / "tate_artworks.csv.gz"
    path.write_bytes(bytes(packed))
    with pytest.raises(BadInputError) as raised:
        read_tate_artworks(path)
    _one_line(raised.value, str(path), "gzip")


def test_missing_file_is_a_missing_input(tmp_path: Path) -> None:
    with pytest.raises(MissingInputError) as raised:
        read_tate_artworks(tmp_path / "tate_artworks.csv")
    _one_line(raised.value, "file not found", "ingest_tate")


def test_untidy_real_values_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "tate_artworks.csv"
    path.write_text(_cells(0, "width", "ea.316").replace(",Graphite on paper,", ",,", 1))
    frame = read_tate_artworks(path)
    assert frame.loc[0, "width"] == "ea.316" and frame.loc[0, "medium"] == ""
