"""Embedded synthetic data generators, so the pipelines run without any download.

``mame``: MAMe-like medium images, raw museum records and MAMe-format datasets;
``met``: Met-like instance-recognition data.
"""
