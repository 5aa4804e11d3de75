"""Benchmarks of the port-plan checker, the synth plugin and the test suite (``make bench``)."""
