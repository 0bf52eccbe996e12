"""Benchmarks of b00t-pulumi (run from the repository root, e.g. ``.venv/bin/python -m bench.schedule``)."""
