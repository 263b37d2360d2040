"""Annotation: campaigns, video ingest, and the five-grade rating workflow for annotators."""
