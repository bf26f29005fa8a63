"""Tiny checkpoints the tests and benchmarks build on the spot: no download, no wheel."""
