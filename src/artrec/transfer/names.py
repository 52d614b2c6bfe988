"""Names of the transfer study's runs: ``<collection>/<challenge>/<mode>/<start>/<architecture>``.

Mode ``off_the_shelf``, ``fine_tuning`` or ``scratch``; start ``theta`` (the pretrained network),
``theta_hat`` (that network fine-tuned on the first collection) or ``he_uniform`` (from scratch).
A module of its own, without torch, so that tables and reports can use the names cheaply.
"""

from __future__ import annotations

OFF_THE_SHELF, FINE_TUNING, SCRATCH = "off_the_shelf", "fine_tuning", "scratch"
THETA, THETA_HAT, HE_UNIFORM = "theta", "theta_hat", "he_uniform"
RUN_KEYS: tuple[str, ...] = ("collection", "challenge", "mode", "start", "arch")


def run_label(name: dict[str, str], sep: str = "/") -> str:
    """The run's name joined by ``sep`` (``/`` for people, ``.`` for MLflow keys, ``-`` for
    checkpoint folders)."""
    return sep.join(name[key] for key in RUN_KEYS)
