"""Scriptbox benchmarks: `python -m bench` starts what it needs on 127.0.0.1,
runs B1-B5 and writes BENCHMARKS.md. Benchmarks, not tests: nothing here
asserts a timing."""
