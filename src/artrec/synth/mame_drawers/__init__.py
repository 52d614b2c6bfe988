"""Procedural drawers of the 29 MAMe classes, one module per family of media.

A drawer takes ``(width, height, rng, period)`` and returns an H x W x 3 float image in [0, 1];
``period`` is the native period (px) of the class's fine textures. ``scene`` holds the pieces
the families share (paper, silhouettes, museum photography).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from artrec.synth.mame_drawers import (
    ceramics,
    metals,
    paintings,
    prints,
    stone,
    textiles,
    wood_and_ivory,
)

Drawer = Callable[[int, int, np.random.Generator, float], np.ndarray]

MEDIUM_DRAWERS: dict[str, Drawer] = {
    "Albumen photograph": prints.draw_albumen_photograph,
    "Bronze": metals.draw_bronze,
    "Ceramic": ceramics.draw_ceramic,
    "Clay": ceramics.draw_clay,
    "Engraving": prints.draw_engraving,
    "Etching": prints.draw_etching,
    "Faience": ceramics.draw_faience,
    "Glass": ceramics.draw_glass,
    "Gold": metals.draw_gold,
    "Graphite": prints.draw_graphite,
    "Hand-colored engraving": prints.draw_hand_colored_engraving,
    "Hand-colored etching": prints.draw_hand_colored_etching,
    "Iron": metals.draw_iron,
    "Ivory": wood_and_ivory.draw_ivory,
    "Limestone": stone.draw_limestone,
    "Lithograph": prints.draw_lithograph,
    "Marble": stone.draw_marble,
    "Oil on canvas": paintings.draw_oil_on_canvas,
    "Pen and brown ink": prints.draw_pen_and_brown_ink,
    "Polychromed wood": paintings.draw_polychromed_wood,
    "Porcelain": ceramics.draw_porcelain,
    "Silk and metal thread": textiles.draw_silk_and_metal_thread,
    "Silver": metals.draw_silver,
    "Steel": metals.draw_steel,
    "Wood": wood_and_ivory.draw_wood,
    "Wood engraving": prints.draw_wood_engraving,
    "Woodblock": prints.draw_woodblock,
    "Woodcut": prints.draw_woodcut,
    "Woven fabric": textiles.draw_woven_fabric,
}
