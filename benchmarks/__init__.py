"""Benchmarks: scripts that print JSON figures. Never part of the tests' pass/fail."""
