"""Benchmarks: `make bench` (bench/run.py) reproduces every figure of docs/performance.md."""
