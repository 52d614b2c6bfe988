"""Evaluate: the MAMe comparison across variants (Tables 3-4, Figure 5) and LRP explanations."""
