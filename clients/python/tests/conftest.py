"""Shared fixtures for every Python test: see quiver_harness.plugin."""

pytest_plugins = ["quiver_harness.plugin"]
