"""Readers and validators for the ground truth of the datasets the project uses."""
