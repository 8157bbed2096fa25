"""Text diagrams (Mermaid) drawn from the classes a mediator is configured with."""
