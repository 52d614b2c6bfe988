"""Per-class image size statistics of the real MAMe dataset, embedded so nothing needs the download.

The constants are facts read once from the official ``MAMe_dataset.csv`` (37,407 images; the file
spells one class ``"Woven fabric "`` with a trailing space, stripped here): for every class the
quantiles at ``QUANTILE_LEVELS`` of the product size (pixels, rounded) and of the aspect ratio
(width / height, 3 decimals), and the number of images per museum (Table 1, "All" columns, of
the MAMe paper). Sampling interpolates the quantile function in log space, so synthetic sizes
follow each class's real distribution between its 1st and 99th percentiles; the extreme tail
(e.g. a 165 MP oil painting) is left out on purpose to keep generation fast.
"""

from __future__ import annotations

import numpy as np

from artrec.synth import detmath as dm

QUANTILE_LEVELS: tuple[float, ...] = (0.01, 0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99)

# The real aspect ratios span 0.1123 .. 15.0019; synthetic ones never leave this range.
ASPECT_RATIO_RANGE: tuple[float, float] = (0.11, 15.0)

# Smallest product size the MAMe curation keeps (section 3.3: "at least 0.25MP").
PAPER_MIN_PRODUCT_SIZE = 250_000

# Museum order used by MUSEUM_COUNTS.
MUSEUMS: tuple[str, str, str] = (
    "Metropolitan Museum of Art",
    "Los Angeles County Museum of Art",
    "The Cleveland Museum of Art",
)

# Product size in thousands of pixels (kilopixels) at QUANTILE_LEVELS.
PRODUCT_SIZE_KPX_QUANTILES: dict[str, tuple[int, ...]] = {
    "Albumen photograph": (380, 397, 665, 1052, 4320, 6205, 10784, 11856, 12941),
    "Bronze": (300, 586, 1538, 3489, 8756, 16933, 27705, 37655, 50199),
    "Ceramic": (371, 791, 976, 1906, 8442, 19039, 27700, 34946, 43373),
    "Clay": (294, 396, 442, 515, 618, 3211, 11996, 12000, 15468),
    "Engraving": (1683, 3383, 4683, 6242, 8793, 14706, 20302, 25774, 48708),
    "Etching": (1662, 3012, 4890, 6245, 8673, 14669, 18887, 22041, 32181),
    "Faience": (440, 1213, 1785, 2666, 8953, 10668, 12800, 19631, 46496),
    "Glass": (321, 610, 1338, 3220, 10668, 16000, 16000, 25316, 46941),
    "Gold": (304, 367, 503, 1255, 3884, 7735, 12000, 14018, 34899),
    "Graphite": (843, 2487, 4263, 7967, 9359, 10627, 21560, 24998, 41367),
    "Hand-colored engraving": (962, 6038, 6532, 7227, 7762, 8217, 8548, 8787, 27363),
    "Hand-colored etching": (684, 3478, 6253, 8666, 9561, 10115, 10765, 11152, 11728),
    "Iron": (330, 493, 1286, 3178, 4237, 12800, 27280, 31108, 35863),
    "Ivory": (306, 533, 1421, 2933, 10384, 11558, 15111, 21026, 42513),
    "Limestone": (321, 507, 1052, 2873, 4000, 10668, 14381, 22439, 39140),
    "Lithograph": (1178, 4347, 4555, 6000, 8670, 18213, 23007, 26719, 38561),
    "Marble": (333, 636, 2038, 5657, 11295, 14579, 24871, 33287, 48734),
    "Oil on canvas": (1956, 3263, 4967, 9452, 13640, 24464, 38017, 46189, 165040),
    "Pen and brown ink": (1651, 2716, 3701, 6156, 8604, 9881, 10784, 11542, 28121),
    "Polychromed wood": (345, 1734, 2551, 7565, 10663, 13015, 23999, 29507, 41006),
    "Porcelain": (300, 396, 1555, 3146, 11721, 16000, 40347, 46282, 82961),
    "Silk and metal thread": (259, 305, 390, 477, 1282, 3260, 8013, 12224, 26648),
    "Silver": (314, 503, 751, 2923, 5539, 12853, 23816, 35876, 62272),
    "Steel": (1920, 3220, 9000, 11428, 12800, 12800, 14091, 35564, 64354),
    "Wood": (341, 611, 944, 2666, 6145, 10668, 21399, 28165, 52553),
    "Wood engraving": (1318, 1907, 2900, 7219, 9703, 16590, 19265, 21835, 41359),
    "Woodblock": (571, 2471, 3002, 5588, 10096, 21713, 38944, 40523, 42296),
    "Woodcut": (2829, 4829, 5490, 6550, 8914, 14506, 20784, 27696, 75781),
    "Woven fabric": (275, 333, 393, 841, 2566, 3713, 11088, 13532, 29075),
}
# Aspect ratio (width / height) at QUANTILE_LEVELS.
ASPECT_RATIO_QUANTILES: dict[str, tuple[float, ...]] = {
    "Albumen photograph": (0.524, 0.536, 0.544, 0.56, 0.59, 0.778, 1.309, 1.394, 1.653),
    "Bronze": (0.391, 0.532, 0.614, 0.75, 1.0, 1.217, 1.51, 1.816, 2.604),
    "Ceramic": (0.545, 0.63, 0.665, 0.747, 0.94, 1.12, 1.356, 1.53, 1.916),
    "Clay": (0.467, 0.661, 0.72, 0.831, 1.07, 1.319, 1.413, 1.531, 1.953),
    "Engraving": (0.504, 0.582, 0.621, 0.671, 0.751, 1.25, 1.461, 1.553, 3.012),
    "Etching": (0.494, 0.567, 0.593, 0.678, 0.888, 1.363, 1.521, 1.772, 2.468),
    "Faience": (0.458, 0.612, 0.666, 0.667, 0.751, 1.009, 1.333, 1.5, 1.946),
    "Glass": (0.542, 0.649, 0.718, 0.778, 1.0, 1.091, 1.333, 1.5, 2.219),
    "Gold": (0.528, 0.719, 0.794, 0.987, 1.087, 1.333, 1.871, 2.042, 2.333),
    "Graphite": (0.329, 0.53, 0.595, 0.708, 1.016, 1.428, 1.712, 1.938, 3.03),
    "Hand-colored engraving": (0.538, 0.58, 0.601, 0.633, 0.667, 0.684, 0.7, 0.719, 1.261),
    "Hand-colored etching": (0.62, 0.678, 0.698, 0.773, 1.24, 1.39, 1.452, 1.508, 1.827),
    "Iron": (0.355, 0.485, 0.578, 0.795, 1.013, 1.362, 1.69, 1.896, 2.977),
    "Ivory": (0.233, 0.511, 0.624, 0.747, 1.061, 1.5, 1.526, 1.847, 2.628),
    "Limestone": (0.447, 0.607, 0.67, 0.752, 1.0, 1.3, 1.534, 2.011, 2.856),
    "Lithograph": (0.53, 0.548, 0.556, 0.654, 0.78, 1.208, 1.445, 1.556, 1.817),
    "Marble": (0.333, 0.57, 0.643, 0.749, 0.8, 1.053, 1.333, 1.476, 2.11),
    "Oil on canvas": (0.469, 0.62, 0.696, 0.783, 0.838, 1.325, 1.548, 1.708, 2.306),
    "Pen and brown ink": (0.41, 0.573, 0.639, 0.711, 0.997, 1.424, 1.616, 1.89, 2.905),
    "Polychromed wood": (0.335, 0.512, 0.614, 0.714, 0.797, 1.269, 1.531, 1.733, 2.545),
    "Porcelain": (0.536, 0.66, 0.71, 0.8, 1.02, 1.287, 1.447, 1.54, 1.802),
    "Silk and metal thread": (0.229, 0.417, 0.531, 0.667, 0.976, 1.396, 2.091, 2.643, 5.53),
    "Silver": (0.378, 0.562, 0.709, 0.841, 1.0, 1.313, 1.5, 1.812, 2.224),
    "Steel": (0.453, 0.562, 0.604, 0.75, 1.25, 1.25, 1.4, 1.428, 1.778),
    "Wood": (0.207, 0.309, 0.405, 0.667, 1.012, 1.5, 1.959, 2.45, 4.405),
    "Wood engraving": (0.57, 0.66, 0.686, 0.723, 0.881, 1.436, 1.553, 1.68, 1.971),
    "Woodblock": (0.199, 0.434, 0.469, 0.674, 0.741, 1.455, 1.572, 1.981, 2.397),
    "Woodcut": (0.539, 0.658, 0.682, 0.714, 0.779, 1.034, 1.477, 1.54, 1.637),
    "Woven fabric": (0.248, 0.392, 0.481, 0.649, 0.884, 1.273, 1.814, 2.251, 3.714),
}
# Images per museum, in MUSEUMS order (Met, LACMA, Cleveland).
MUSEUM_COUNTS: dict[str, tuple[int, int, int]] = {
    "Albumen photograph": (1450, 0, 0),
    "Bronze": (483, 483, 484),
    "Ceramic": (500, 501, 449),
    "Clay": (1054, 8, 1),
    "Engraving": (483, 484, 483),
    "Etching": (483, 484, 483),
    "Faience": (1240, 131, 79),
    "Glass": (1192, 111, 147),
    "Gold": (928, 198, 324),
    "Graphite": (756, 11, 171),
    "Hand-colored engraving": (47, 986, 45),
    "Hand-colored etching": (1331, 3, 0),
    "Iron": (824, 3, 188),
    "Ivory": (1152, 60, 110),
    "Limestone": (1226, 117, 107),
    "Lithograph": (572, 306, 572),
    "Marble": (747, 124, 136),
    "Oil on canvas": (547, 355, 548),
    "Pen and brown ink": (983, 19, 34),
    "Polychromed wood": (843, 95, 187),
    "Porcelain": (924, 117, 409),
    "Silk and metal thread": (820, 1, 24),
    "Silver": (934, 169, 347),
    "Steel": (790, 1, 92),
    "Wood": (1194, 90, 166),
    "Wood engraving": (650, 25, 436),
    "Woodblock": (535, 535, 380),
    "Woodcut": (863, 106, 481),
    "Woven fabric": (1360, 8, 82),
}


def sample_image_size(medium: str, rng: np.random.Generator, scale: float) -> tuple[int, int]:
    """Draw ``(width, height)`` for one image of ``medium``, real-size statistics times ``scale``.

    Product size and aspect ratio are drawn independently (their correlation over the real data
    is 0.01) from the class's quantile functions; ``scale`` multiplies both sides linearly.
    """
    if medium not in PRODUCT_SIZE_KPX_QUANTILES:
        raise KeyError(
            f"unknown MAMe medium {medium!r}; known: {sorted(PRODUCT_SIZE_KPX_QUANTILES)}"
        )
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    levels = np.asarray(QUANTILE_LEVELS)
    u_size, u_aspect = rng.uniform(levels[0], levels[-1], size=2)
    log_size = dm.interp(u_size, levels, dm.log(PRODUCT_SIZE_KPX_QUANTILES[medium]))
    log_aspect = dm.interp(u_aspect, levels, dm.log(ASPECT_RATIO_QUANTILES[medium]))
    aspect = float(np.clip(dm.exp(log_aspect), *ASPECT_RATIO_RANGE))
    product = 1000.0 * float(dm.exp(log_size))
    width = max(1, round(np.sqrt(product * aspect) * scale))
    height = max(1, round(np.sqrt(product / aspect) * scale))
    return width, height
