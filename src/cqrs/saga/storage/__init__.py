"""Where sagas keep their state: the protocol, in memory, and SQLAlchemy."""

from cqrs.saga.storage.enums import SagaStatus, SagaStepStatus
from cqrs.saga.storage.models import SagaLogEntry
from cqrs.saga.storage.protocol import ISagaStorage, SagaState, SagaStorageRun

__all__ = (
    "ISagaStorage",
    "SagaLogEntry",
    "SagaState",
    "SagaStatus",
    "SagaStepStatus",
    "SagaStorageRun",
)
