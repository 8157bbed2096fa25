"""Shared fixtures for the runtime tests."""
