"""Every example runs and prints what it promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ORDERS = ("order1", "order2", "order3")


@pytest.fixture(scope="module")
def streaming_orders() -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, str(EXAMPLES / "streaming_orders.py")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=EXAMPLES.parent,
    )


def test_streaming_orders_exits_with_code_zero(
    streaming_orders: subprocess.CompletedProcess[str],
) -> None:
    assert streaming_orders.returncode == 0, streaming_orders.stderr


def test_streaming_orders_writes_nothing_to_stderr(
    streaming_orders: subprocess.CompletedProcess[str],
) -> None:
    assert streaming_orders.stderr == ""


def test_streaming_orders_prints_three_lines_per_order(
    streaming_orders: subprocess.CompletedProcess[str],
) -> None:
    assert len(streaming_orders.stdout.splitlines()) == 3 * len(ORDERS)


@pytest.mark.parametrize(("index", "order"), list(enumerate(ORDERS)))
def test_streaming_orders_handles_both_events_before_yielding_the_order(
    streaming_orders: subprocess.CompletedProcess[str], index: int, order: str
) -> None:
    lines = streaming_orders.stdout.splitlines()
    block = lines[3 * index : 3 * index + 3]

    # The two event handlers may run in parallel: either order is fine.
    assert sorted(block[:2]) == sorted(
        [
            f"Order {order} processed for customer customer_{order}",
            f"Analytics updated for order {order} in category electronics",
        ]
    )
    assert block[2] == f"Processed: {order}"


def test_the_readme_shows_what_the_main_example_prints(
    streaming_orders: subprocess.CompletedProcess[str],
) -> None:
    readme = (EXAMPLES.parent / "README.md").read_text()
    shown = readme.split("(their two lines may swap) before the order is handed on:\n\n```text\n")[1]
    shown_lines = shown.split("```", 1)[0].splitlines()
    printed = streaming_orders.stdout.splitlines()
    # The same lines, each order's block in order; its two event lines in either order.
    for start in range(0, len(printed), 3):
        assert sorted(printed[start : start + 2]) == sorted(shown_lines[start : start + 2])
        assert printed[start + 2] == shown_lines[start + 2]
    assert len(printed) == len(shown_lines)


def test_the_saga_example_prints_what_its_docstring_promises() -> None:
    example = Path(__file__).resolve().parents[1] / "examples" / "saga_orders.py"
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, str(example)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=example.parents[1],
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    promised = example.read_text().split("It prints:\n\n", 1)[1].split("\n\n", 1)[0]
    assert done.stdout.splitlines() == [line.strip() for line in promised.splitlines()]
