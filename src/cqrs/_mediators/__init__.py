"""Floor 5: the mediators users call."""
