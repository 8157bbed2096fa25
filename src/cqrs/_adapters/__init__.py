"""Adapters over the public contracts: the `di` container, the no-op broker, logging."""
