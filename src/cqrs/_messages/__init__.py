"""Floor 1: the messages that travel through the mediator (requests, responses, events)."""
