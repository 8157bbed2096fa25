"""Floor 4: dispatching events to their handlers or to the broker, and processing them."""
