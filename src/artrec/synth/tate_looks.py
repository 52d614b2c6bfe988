"""Thumbnails of Tate-like artworks drawn from their medium tags, reusing the MAMe drawers.

A description's tags (``artrec.curation.medium_tags``) choose a base look, the first tag of
``BASE_LOOKS`` it carries, drawn by the MAMe class drawer named there (``artrec.synth.mame``):
graphite, ink and prints on paper, oil on canvas, photographs. Watercolour and gouache are not
MAMe classes; they are the MAMe prints' transparent watercolour wash
(``mame_drawers.prints._watercolour_wash``) laid over the base look, or over a bare sheet of
paper when no other medium is named ("Watercolour on paper"). So "Graphite and watercolour on
paper" is a graphite drawing under a wash, and it shares cues with both "Graphite on paper" and
"Watercolour on paper", as the poster's confusion matrix finds for the real works.

"Intaglio print" is Tate's umbrella term for etchings, engravings and aquatints: its thumbnails
are drawn as etchings or engravings, one or the other per image. Screenprints, made of flat
stencilled colour areas, are drawn by the colour-woodblock drawer, the MAMe drawer of flat colour
printing.

Everything is drawn at the thumbnail's own size from the caller's generator, with the MAMe
generators' deterministic arithmetic, so the bytes are the same on every machine.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from artrec.synth import textures as tx
from artrec.synth.mame import draw_medium_image
from artrec.synth.mame_drawers import scene
from artrec.synth.mame_drawers.prints import _watercolour_wash as watercolour_wash

# tag -> MAMe class drawer (or a list: one is chosen per image); the first tag found wins.
BASE_LOOKS: tuple[tuple[str, str | tuple[str, ...]], ...] = (
    ("oil paint", "Oil on canvas"),
    ("acrylic paint", "Oil on canvas"),
    ("screenprint", "Woodblock"),
    ("lithograph", "Lithograph"),
    ("line engraving", "Engraving"),
    ("engraving", "Engraving"),
    ("mezzotint", "Engraving"),
    ("etching", "Etching"),
    ("aquatint", "Etching"),
    ("drypoint", "Etching"),
    ("intaglio print", ("Etching", "Engraving")),
    ("wood engraving", "Wood engraving"),
    ("woodcut", "Woodcut"),
    ("linocut", "Woodcut"),
    ("relief print", "Woodcut"),
    ("photograph", "Albumen photograph"),
    ("gelatin silver print", "Albumen photograph"),
    ("graphite", "Graphite"),
    ("chalk", "Graphite"),
    ("charcoal", "Graphite"),
    ("ink", "Pen and brown ink"),
    ("pen", "Pen and brown ink"),
)
WASH_TAGS: frozenset[str] = frozenset({"watercolour", "gouache"})
GREY_TAGS: frozenset[str] = frozenset({"gelatin silver print"})
PAPER_WHITE: tx.RGB = (0.95, 0.94, 0.9)


def base_look(tags: Sequence[str], rng: np.random.Generator) -> str | None:
    """The MAMe class whose drawer draws the base of these tags (None: a bare sheet)."""
    for tag, look in BASE_LOOKS:
        if tag in tags:
            return look if isinstance(look, str) else look[int(rng.integers(len(look)))]
    return None


def draw_thumbnail(
    tags: Sequence[str], width: int, height: int, rng: np.random.Generator, fine_cycles: float
) -> Image.Image:
    """One RGB thumbnail of an artwork with these medium tags."""
    look = base_look(tags, rng)
    if look is None:
        rgb = scene.paper_sheet(width, height, rng, PAPER_WHITE)
    else:
        image = draw_medium_image(look, width, height, rng, fine_cycles=fine_cycles)
        if GREY_TAGS & set(tags):
            image = image.convert("L").convert("RGB")
        rgb = np.asarray(image, dtype=np.float32) / np.float32(255.0)
    if WASH_TAGS & set(tags):
        region = scene.box_mask(width, height, scene.inset_box(width, height, rng, 0.05, 0.15))
        rgb = rgb * watercolour_wash(width, height, rng, region)
    return Image.fromarray(tx.to_uint8(rgb), "RGB")
