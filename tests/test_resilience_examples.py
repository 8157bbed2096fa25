"""The fallback and chain-of-responsibility examples run and print what they promise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(name: str) -> list[str]:
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=EXAMPLES.parent,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout.splitlines()


def test_request_fallback_stops_calling_the_service_once_the_circuit_opens() -> None:
    assert run("request_fallback.py") == [
        "user 1: cache, service calls so far: 1",
        "user 2: cache, service calls so far: 2",
        "user 3: cache, service calls so far: 2",
        "user 4: cache, service calls so far: 2",
    ]


def test_stream_fallback_keeps_delivered_items_then_streams_the_archive() -> None:
    assert run("stream_fallback.py") == [
        "AAA from live",
        "BBB from live",
        "AAA from archive",
        "BBB from archive",
        "CCC from archive",
        "DDD from archive",
        "events handled: 6",
    ]


def test_event_fallback_queues_only_for_the_failure_it_covers() -> None:
    assert run("event_fallback.py") == [
        "registered 1; queued mails: [1]",
        "registered 2; queued mails: [1]",
    ]


def test_chain_asks_links_in_order_and_reports_exhaustion() -> None:
    lines = run("cor_request_handler.py")
    assert lines[:8] == [
        "pay by card:",
        "  asked Card",
        "  paid 10 by card",
        "pay by wallet:",
        "  asked Card",
        "  asked Wallet",
        "  paid 10 by wallet",
        "pay by cash:",
    ]
    assert lines[8].startswith("  refused: no link of the chain Card -> Wallet -> BankTransfer")
    assert len(lines) == 9


@pytest.mark.parametrize("name", ["cor_mermaid.py"])
def test_mermaid_example_prints_both_diagrams(name: str) -> None:
    text = "\n".join(run(name))
    assert "sequenceDiagram" in text
    assert "classDiagram" in text
