"""Kedro pipelines: each folder wires nodes (pipeline.py) around pure functions (nodes.py)."""
