"""Reach reports: what reached whom, read from rollups the worker keeps current."""
