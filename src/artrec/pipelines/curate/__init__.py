"""Curate: label map, filters and splits (MAMe); ground-truth validation (Met); dataset statistics."""
