"""`Retry`: how often, how long apart, and on which errors a step's `act` is retried."""

from __future__ import annotations

import dataclasses

__all__ = ("Retry",)


@dataclasses.dataclass(frozen=True)
class Retry:
    """Retry a step's `act`: `attempts` in total, waiting `delay * backoff**n` in between.

    Only errors that are instances of `on` are retried; any other fails the step at
    once. Waits are capped at `max_delay`. Each attempt runs with its own
    idempotency key (`cqrs.saga.step.current_step()`).
    """

    attempts: int = 3
    delay: float = 0.1
    backoff: float = 2.0
    max_delay: float = 30.0
    on: tuple[type[BaseException], ...] = (Exception,)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            msg = f"Retry.attempts must be at least 1, got {self.attempts}"
            raise ValueError(msg)
        if self.delay < 0 or self.backoff < 1 or self.max_delay < 0:
            msg = "Retry needs delay >= 0, backoff >= 1 and max_delay >= 0"
            raise ValueError(msg)

    def wait(self, failed_attempts: int) -> float:
        """Seconds to wait after `failed_attempts` failures (1 for the first)."""
        return min(self.delay * self.backoff ** (failed_attempts - 1), self.max_delay)

    def retries(self, error: BaseException) -> bool:
        """Whether `error` may be retried."""
        return isinstance(error, self.on)
