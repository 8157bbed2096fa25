"""Handlers made of several handler classes (fallbacks, chains), and the bind-time checks."""
