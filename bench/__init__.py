"""Benchmarks of machidata (``make bench``): the ingest pipeline and the personal-data screen."""
