"""Floor 3: maps from message types to handler types, validated at `bind`."""
