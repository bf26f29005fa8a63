"""Helpers for testing with pytest-llmperf offline: tiny checkpoints built on the spot."""
