"""Killmail ingest: sources, shape detection, the COPY writer and the live feed."""
