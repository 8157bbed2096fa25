"""Floor 2: the contracts (handlers, container, broker, middleware) the mediators depend on."""
