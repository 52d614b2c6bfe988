"""Representation learning on the Met: Table 6, thesis B.3, Figure 8."""
