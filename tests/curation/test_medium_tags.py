"""Medium descriptions to tags: hand-checked examples (the untidy ones too), the vocabulary file's
checks, and the share of the real Tate descriptions parsed fully (when ``../shared`` is present)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from artrec.curation.medium_tags import (
    MediumTagger,
    default_tagger,
    normalise_description,
    parse_coverage,
)
from artrec.datasets.tate import read_tate_artworks
from artrec.errors import BadInputError

# (description, recto tags, verso tags), checked by hand against the real records.
EXAMPLES = [
    ("Graphite on paper", ("graphite", "paper"), ()),
    ("Graphite and watercolour on paper", ("graphite", "watercolour", "paper"), ()),
    ("Oil paint on canvas", ("oil paint", "canvas"), ()),
    ("Intaglio print on paper", ("intaglio print", "paper"), ()),
    ("Line engraving on paper", ("line engraving", "paper"), ()),
    ("Engraving on paper", ("engraving", "paper"), ()),
    # lists with commas and "and", a verso
    (
        "Watercolour, ink, chalk and graphite on paper. Verso: graphite on paper",
        ("watercolour", "ink", "chalk", "graphite", "paper"),
        ("graphite", "paper"),
    ),
    (
        "Gouache, graphite and watercolour on paper",
        ("gouache", "graphite", "watercolour", "paper"),
        (),
    ),
    ("Pen and ink and graphite on paper", ("pen", "ink", "graphite", "paper"), ()),
    # modifiers: colours before, "offset" after; a phrase of modifiers only
    ("Pen and brown ink on paper", ("pen", "ink", "paper"), ()),
    ("Black and white chalk on paper", ("chalk", "paper"), ()),
    ("Chalk offset on paper", ("chalk", "paper"), ()),
    ("Photograph, black and white, on paper", ("photograph", "paper"), ()),
    # ", on" before the support, support chains, counts, plurals, parentheses
    (
        "Photograph, colour, Chromogenic print, on paper mounted onto aluminium",
        ("photograph", "chromogenic print", "paper", "aluminium"),
        (),
    ),
    ("9 photographs, black and white, on paper on board", ("photograph", "paper", "board"), ()),
    ("Film, 16 mm, projection, colour and sound (mono)", ("film", "projection", "sound"), ()),
    (
        "Photograph, gelatine silver print on paper",
        ("photograph", "gelatin silver print", "paper"),
        (),
    ),
    ("Etching and aquatint on paper", ("etching", "aquatint", "paper"), ()),
    ("Bronze", ("bronze",), ()),
    ("", (), ()),
]


@pytest.mark.parametrize(("description", "tags", "verso"), EXAMPLES)
def test_hand_checked_examples(description: str, tags: tuple, verso: tuple) -> None:
    parsed = default_tagger().parse(description)
    assert parsed.tags == tags
    assert parsed.verso_tags == verso
    assert parsed.fully_parsed, parsed.unknown


def test_unknown_phrases_are_reported_not_guessed() -> None:
    parsed = default_tagger().parse("Graphite and moon dust on paper")
    assert parsed.tags == ("graphite", "paper")
    assert parsed.unknown == ("moon dust",)
    assert not parsed.fully_parsed


def test_normalisation() -> None:
    assert normalise_description("  Pen &  Ink on Paper. ") == "pen and ink on paper"
    assert normalise_description(None) == "" and normalise_description(float("nan")) == ""


def test_coverage_counts_rows_and_distinct_descriptions() -> None:
    media = pd.Series(["Graphite on paper"] * 3 + ["Moon dust on paper", "", None])
    coverage = parse_coverage(media, default_tagger())
    assert coverage["rows"] == 4 and coverage["distinct"] == 2
    assert coverage["rows_fully_parsed"] == 3
    assert coverage["share_rows_fully_parsed"] == 0.75
    assert coverage["share_distinct_fully_parsed"] == 0.5


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("version: 1\nmodifiers: []\n", "exactly the keys"),
        ("version: 1\nmodifiers: black\ntags: {ink: []}\n", "'modifiers' must be a list"),
        ("version: 1\nmodifiers: []\ntags: {ink: wash}\n", "expected a list of phrases"),
        ("version: 1\nmodifiers: []\ntags: {ink: [wash], paint: [wash]}\n", "also a phrase of"),
        ("version: 1\nmodifiers: [\n", "cannot read"),
    ],
)
def test_bad_vocabulary_is_refused(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "tags.yml"
    path.write_text(text)
    with pytest.raises(BadInputError, match=needle) as raised:
        MediumTagger.load(path)
    assert str(path) in str(raised.value) and "Fix:" in str(raised.value)


# ---- the real Tate records ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_media(shared_dir: Path) -> pd.Series:
    path = shared_dir / "data" / "tate" / "tate_artworks.csv.gz"
    if not path.is_file():
        pytest.skip("the real Tate metadata is not present")
    return read_tate_artworks(path)["medium"]


def test_most_real_descriptions_parse_fully(real_media: pd.Series) -> None:
    coverage = parse_coverage(real_media, default_tagger())
    assert coverage["rows"] == 62_818 and coverage["distinct"] == 3_413
    # Measured: 98.0% of the rows with a description, 67.6% of the distinct descriptions (the
    # long tail is installations and time-based media with one-off materials).
    assert coverage["share_rows_fully_parsed"] >= 0.975
    assert coverage["share_distinct_fully_parsed"] >= 0.65


def test_the_ten_most_frequent_real_descriptions_parse_fully(real_media: pd.Series) -> None:
    top = real_media[real_media != ""].value_counts().head(10).index
    assert all(default_tagger().parse(d).fully_parsed for d in top)


def test_real_untidy_descriptions(real_media: pd.Series) -> None:
    tagger = default_tagger()
    versos = real_media[real_media.str.contains("Verso:", regex=False)].unique()
    assert len(versos) > 50
    # The verso never leaks into the recto's tags.
    parsed = tagger.parse("Graphite on paper. Verso: watercolour and ink on paper")
    assert parsed.tags == ("graphite", "paper") and parsed.verso_tags[:2] == ("watercolour", "ink")
    assert sum(tagger.parse(d).fully_parsed for d in versos) / len(versos) > 0.9
