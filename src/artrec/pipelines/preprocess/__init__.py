"""Preprocess: the MAMe input versions (HR&VS, LR&FS, area presets) cached as stage outputs."""
