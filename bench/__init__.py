"""Benchmarks: real instances on loopback, driven by a load generator on the other core, each
figure reported next to its ceiling (a bare app of the same stack) measured in the same run.

`python -m bench --quick` or `make bench`; see bench/README.md.
"""
