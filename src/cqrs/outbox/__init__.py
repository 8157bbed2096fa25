"""The transactional outbox (extra `sqlalchemy`): events stored with your writes, published later."""

__all__ = ()
