"""Reproduction: the run archive, and compare/verify of two runs."""
