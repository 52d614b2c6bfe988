"""Ingest: fetch or generate each dataset's raw files in the official on-disk layout."""
