"""A FastAPI app that sends commands and queries through `RequestMediator`.

Start it (from the repository root) with `uvicorn examples.fastapi_commands:app` or
`python examples/fastapi_commands.py`, then:

    curl -X POST http://127.0.0.1:8000/users \\
        -H 'Content-Type: application/json' -d '{"name": "Ada", "email": "ada@example.com"}'
    curl http://127.0.0.1:8000/users/1

The request bodies are the commands themselves (pydantic models), and each endpoint's
return type is the response its request declares: `await mediator.send(CreateUser(...))`
is a `UserCreated` for the type checkers, so FastAPI documents and validates it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator, Sequence
from typing import Annotated, Protocol

import di
import fastapi
import uvicorn
from di.dependent import Dependent

import cqrs
from cqrs.integrations.fastapi import MediatorProvider
from cqrs.requests import bootstrap

logger = logging.getLogger("examples.fastapi_commands")


# --- requests, responses, events -----------------------------------------------------


class UserCreated(cqrs.Response):
    user_id: int


class UserDTO(cqrs.Response):
    user_id: int
    name: str
    email: str


class CreateUser(cqrs.Request[UserCreated]):
    name: str
    email: str


class GetUser(cqrs.Request[UserDTO]):
    user_id: int


class UserJoined(cqrs.DomainEvent, frozen=True):
    user_id: int
    email: str


class UserNotFoundError(LookupError):
    def __init__(self, user_id: int) -> None:
        super().__init__(f"no user {user_id}")
        self.user_id = user_id


# --- a repository the container injects ---------------------------------------------------


class Users(Protocol):
    def add(self, name: str, email: str) -> UserDTO: ...

    def get(self, user_id: int) -> UserDTO | None: ...


class InMemoryUsers:
    def __init__(self) -> None:
        self._users: dict[int, UserDTO] = {}

    def add(self, name: str, email: str) -> UserDTO:
        user = UserDTO(user_id=len(self._users) + 1, name=name, email=email)
        self._users[user.user_id] = user
        return user

    def get(self, user_id: int) -> UserDTO | None:
        return self._users.get(user_id)


# --- handlers ---------------------------------------------------------------------------------


class CreateUserHandler(cqrs.RequestHandler[CreateUser, UserCreated]):
    def __init__(self, users: Users) -> None:
        self._users = users
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return tuple(self._events)

    async def handle(self, request: CreateUser) -> UserCreated:
        user = self._users.add(request.name, request.email)
        self._events.append(UserJoined(user_id=user.user_id, email=user.email))
        return UserCreated(user_id=user.user_id)


class GetUserHandler(cqrs.RequestHandler[GetUser, UserDTO]):
    def __init__(self, users: Users) -> None:
        self._users = users

    async def handle(self, request: GetUser) -> UserDTO:
        user = self._users.get(request.user_id)
        if user is None:
            raise UserNotFoundError(request.user_id)
        return user


class SendWelcomeEmail(cqrs.EventHandler[UserJoined]):
    async def handle(self, event: UserJoined) -> None:
        logger.info("welcome email to %s", event.email)


# --- wiring -----------------------------------------------------------------------------------


def commands_mapper(mapper: cqrs.RequestMap) -> None:
    mapper.bind(CreateUser, CreateUserHandler)


def queries_mapper(mapper: cqrs.RequestMap) -> None:
    mapper.bind(GetUser, GetUserHandler)


def domain_events_mapper(mapper: cqrs.EventMap) -> None:
    mapper.bind(UserJoined, SendWelcomeEmail)


@MediatorProvider
def mediator_provider() -> cqrs.RequestMediator:
    """Built once, at start-up, and shared by every request."""
    container = di.Container()
    container.bind(di.bind_by_type(Dependent(InMemoryUsers, scope="singleton"), Users))
    return bootstrap.bootstrap(
        di_container=container,
        commands_mapper=commands_mapper,
        queries_mapper=queries_mapper,
        domain_events_mapper=domain_events_mapper,
    )


Mediator = Annotated[cqrs.RequestMediator, fastapi.Depends(mediator_provider)]


@contextlib.asynccontextmanager
async def lifespan(_: fastapi.FastAPI) -> AsyncGenerator[None, None]:
    mediator_provider.get()  # a wiring mistake stops the app here, not at a request
    yield


app = fastapi.FastAPI(title="cqrs commands example", lifespan=lifespan)


@app.exception_handler(UserNotFoundError)
async def user_not_found(
    _: fastapi.Request, error: UserNotFoundError
) -> fastapi.responses.JSONResponse:
    return fastapi.responses.JSONResponse({"detail": str(error)}, status_code=404)


@app.post("/users", status_code=201)
async def create_user(command: CreateUser, mediator: Mediator) -> UserCreated:
    return await mediator.send(command)


@app.get("/users/{user_id}")
async def get_user(user_id: int, mediator: Mediator) -> UserDTO:
    return await mediator.send(GetUser(user_id=user_id))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    uvicorn.run(app, host="127.0.0.1", port=8000)
