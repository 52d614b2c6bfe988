"""artrec: reproducible research pipeline for recognising artworks."""

__version__ = "0.1.0"
