"""Helpers the tests and benchmarks share: sample archives and artifact sets, servers to
talk to. They live here, not in the shipped package."""
