"""Floor 6: one-call set-up of mediators from mapper functions and a container."""
