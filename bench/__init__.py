"""Benchmarks, each side by side with the peer tool named in its issue. Run with `make bench`."""
