"""Reports of judged tests: the per-test failure message and the session summary."""
