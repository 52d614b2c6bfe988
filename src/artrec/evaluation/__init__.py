"""Evaluation: classification metrics and figures, LRP explanations."""
