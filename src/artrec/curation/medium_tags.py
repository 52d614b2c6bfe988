"""Medium descriptions to medium tags ("Graphite and watercolour on paper" -> graphite,
watercolour, paper), for the Tate poster's multi-binary system and for checking descriptions.

How a description is read (the vocabulary, every curatorial decision, is in
``conf/base/tate_medium_tags.yml``; this module holds only the grammar):

1. Normalise: Unicode NFKC, lower case, ``&`` -> ``and``, one space between words.
2. Cut at ``Verso:``: the part before describes the recto, which the image shows; the verso is
   parsed too but its tags are kept apart (``verso_tags``).
3. Split at the first `` on `` (also ``, on ``): media before, supports after; a support chain
   ("paper on board", "paper mounted onto aluminium") gives one support per link.
4. Split each part into phrases at commas, semicolons, `` and ``, `` with ``.
5. Look each phrase up: a leading count goes ("2 photographs"), then the phrase, or its singular,
   is a tag's phrase; otherwise modifiers (colours, "painted", "offset", ...) are dropped one by
   one from the front, then from the end ("brown ink" -> ink, "chalk offset" -> chalk); a phrase
   of modifiers only ("black and white") is understood and gives no
   tag. Anything else is an unknown phrase: the description is not fully parsed.

Tags come media first, then supports, each once, in the order they are written.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd
import yaml

from artrec.errors import BadInputError

VOCABULARY_FILE = Path(__file__).resolve().parents[3] / "conf" / "base" / "tate_medium_tags.yml"

_VERSO = re.compile(r"\.?\s*\bverso\s*:\s*")
_SUPPORT = re.compile(r",?\s+on\s+")
_SUPPORT_LINK = re.compile(r"\s+(?:mounted\s+)?on(?:to)?\s+|\s+onto\s+")
_PHRASES = re.compile(r"[,;]|\s+and\s+|\s+with\s+|^and\s+|^with\s+")
_COUNT = re.compile(r"^\d+\s+")
_STRIP = " .:[]'\""


def normalise_description(raw: object) -> str:
    """NFKC, lower case, ``&`` as ``and``, single spaces, no trailing full stop ("" for NA)."""
    if raw is None or (isinstance(raw, float) and raw != raw) or raw is pd.NA:
        return ""
    text = unicodedata.normalize("NFKC", str(raw)).lower().replace("&", " and ")
    return " ".join(text.split()).strip(" .")


@dataclass(frozen=True)
class ParsedMedium:
    """A description's tags (recto), the verso's tags and the phrases nothing understood."""

    tags: tuple[str, ...]
    verso_tags: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()

    @property
    def fully_parsed(self) -> bool:
        return not self.unknown


class MediumTagger:
    """Parse descriptions with a vocabulary: phrase -> tag, plus the modifier words."""

    def __init__(self, phrases: Mapping[str, str], modifiers: Iterable[str]) -> None:
        self.phrases = dict(phrases)
        self.modifiers = frozenset(modifiers)
        self.tags = tuple(dict.fromkeys(self.phrases.values()))

    @classmethod
    def load(cls, path: str | Path = VOCABULARY_FILE) -> MediumTagger:
        """Read and check a vocabulary YAML file (format in its header)."""
        path = Path(path)
        try:
            config = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            raise BadInputError(
                path, f"cannot read the tag vocabulary ({error})", "restore it from git"
            ) from error
        fix = "correct that entry (see the file's header), or restore it from git"
        if not isinstance(config, dict) or set(config) != {"version", "modifiers", "tags"}:
            raise BadInputError(path, "needs exactly the keys version, modifiers and tags", fix)
        modifiers = config["modifiers"]
        if not isinstance(modifiers, list) or not all(isinstance(m, str) for m in modifiers):
            raise BadInputError(path, "'modifiers' must be a list of words", fix)
        tags = config["tags"]
        if not isinstance(tags, dict) or not tags:
            raise BadInputError(path, "'tags' must map each tag to a list of phrases", fix)
        phrases: dict[str, str] = {}
        for tag, synonyms in tags.items():
            if not isinstance(synonyms, list | type(None)) or not all(
                isinstance(s, str) for s in synonyms or []
            ):
                raise BadInputError(path, f"tags[{tag!r}]: expected a list of phrases", fix)
            for phrase in [str(tag), *(synonyms or [])]:
                key = normalise_description(phrase)
                if phrases.get(key, tag) != tag:
                    raise BadInputError(
                        path,
                        f"tags[{tag!r}]: phrase {phrase!r} is also a phrase of {phrases[key]!r}",
                        fix,
                    )
                phrases[key] = str(tag)
        return cls(phrases, (normalise_description(m) for m in modifiers))

    def parse(self, description: object) -> ParsedMedium:
        text = normalise_description(description)
        recto, _, verso = _partition_text(_VERSO, text)
        tags, unknown = self._side(recto)
        verso_tags, verso_unknown = self._side(verso)
        return ParsedMedium(tags, verso_tags, unknown + verso_unknown)

    def tag_set(self, description: object) -> tuple[str, ...]:
        """The recto's tags of one description."""
        return self.parse(description).tags

    def _side(self, text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        # "Sound (stereo)": a parenthesis qualifies the phrase before it, like a comma would.
        text = re.sub(r"[()]", ",", text)
        if not text.strip(" ,"):
            return (), ()
        media, _, supports = _partition_text(_SUPPORT, text)
        parts = [media, *(_SUPPORT_LINK.split(supports) if supports else [])]
        tags: dict[str, None] = {}
        unknown: list[str] = []
        for part in parts:
            for raw in _PHRASES.split(part):
                phrase = raw.strip(_STRIP)
                if not phrase:
                    continue
                found = self._lookup(phrase)
                if found is None:
                    unknown.append(phrase)
                elif found:
                    tags[found] = None
        return tuple(tags), tuple(unknown)

    def _lookup(self, phrase: str) -> str | None:
        """The phrase's tag, "" for modifiers only, None when unknown."""
        phrase = _COUNT.sub("", phrase)
        words = phrase.split()
        while words:
            candidate = " ".join(words)
            for form in (candidate, candidate[:-1] if candidate.endswith("s") else None):
                if form and form in self.phrases:
                    return self.phrases[form]
            if words[0] in self.modifiers:
                words = words[1:]
            elif words[-1] in self.modifiers:
                words = words[:-1]
            else:
                return None
        return ""


def _partition_text(pattern: re.Pattern[str], text: str) -> tuple[str, str, str]:
    """``str.partition`` at the first match of a regular expression."""
    match = pattern.search(text)
    if match is None:
        return text, "", ""
    return text[: match.start()], match.group(), text[match.end() :]


@cache
def default_tagger() -> MediumTagger:
    """The tagger of the committed vocabulary."""
    return MediumTagger.load(VOCABULARY_FILE)


def parse_coverage(descriptions: pd.Series, tagger: MediumTagger) -> dict[str, float | int]:
    """How much of a column of descriptions parses fully: rows and distinct descriptions
    (empty descriptions are not counted)."""
    text = descriptions.fillna("").astype(str)
    counts = text[text.str.strip() != ""].value_counts()
    parsed = pd.Series([tagger.parse(d).fully_parsed for d in counts.index], index=counts.index)
    rows = int(counts.sum())
    return {
        "rows": rows,
        "distinct": len(counts),
        "rows_fully_parsed": int(counts[parsed].sum()),
        "distinct_fully_parsed": int(parsed.sum()),
        "share_rows_fully_parsed": float(counts[parsed].sum() / rows) if rows else 0.0,
        "share_distinct_fully_parsed": float(parsed.mean()) if len(counts) else 0.0,
    }
