"""Load and latency harness: `make bench` → `python -m bench.run`, figures in docs/benchmarks.md.
Not part of the test run."""
