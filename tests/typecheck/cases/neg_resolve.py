"""Negative: the result of `resolve` used as another type."""

import cqrs


class Foo:
    def greet(self) -> str:
        return "hi"


class Bar:
    pass


async def main(container: cqrs.DIContainer, protocol: cqrs.Container) -> None:
    bar: Bar = await container.resolve(Foo)  # type: ignore[arg-type]  # pyright: ignore[reportAssignmentType]
    print((await container.resolve(Foo)).missing)  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownArgumentType, reportUnknownMemberType]
    count: int = (await protocol.resolve(Foo)).greet()  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    print(bar, count)
    container.resolve(Foo).greet()  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
