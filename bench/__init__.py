"""Load and latency harness (issue 7): `make bench` → `python -m bench.run`. Not part of the test run."""
