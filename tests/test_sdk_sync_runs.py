"""`store.customers.sync()` against the mock, sync and async, and a run that cannot prove itself."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import threedcart
from conftest import store_kwargs
from threedcart_mock.testing import MockServer

CLI = str(Path(sys.executable).with_name("threedcart"))
STORE_START = "2026-03-01T12:00:00Z"
CLOCK_SPEED = 10
"""Store seconds per real second: the waits for the lag below are store seconds, slept a tenth as long."""


def store_sleep(seconds: float) -> None:
    """Let `seconds` pass on the store's clock."""
    time.sleep(seconds / CLOCK_SPEED)


@pytest.fixture(scope="module")
def clocked_mock() -> Iterator[MockServer]:
    # a store whose clock is months behind this machine's (the window must follow the store's) and
    # runs 10 times faster than it, so that waiting out the lag takes a tenth of a second
    args = ["--seed-customers", "40", "--bodiless-errors", "--clock-start", STORE_START]
    with MockServer([*args, "--clock-speed", str(CLOCK_SPEED)]) as server:
        yield server


def test_sync_runs_on_the_store_clock_and_pick_up_only_what_changed(clocked_mock: MockServer) -> None:
    with threedcart.Store(**store_kwargs(clocked_mock)) as store:  # type: ignore[arg-type]
        # by default a store clock months from this machine's is refused: nothing read, nothing moved
        refused = store.customers.sync(None, lag=1)
        assert list(refused) == [] and refused.complete is False and refused.next_since is None
        assert "behind this machine's" in refused.reason and refused.window is None
        # trusting the store's clock (max_clock_skew=None), the window follows it
        first = store.customers.sync(None, lag=1, max_clock_skew=None)
        assert sorted(c.customer_id for c in first) == list(range(1, 41))  # type: ignore[type-var]
        assert first.complete is True and first.clock_source == "store" and first.passes == 1
        assert first.window is not None and first.window.since is None
        started = datetime.fromisoformat(STORE_START)
        # 5 store minutes: 30 s of this machine's since the mock started, at 10 times the speed
        assert started - timedelta(seconds=2) <= first.window.until <= started + timedelta(minutes=5)
        assert first.next_since == first.window.until  # consecutive windows share a second
        store_sleep(1.1)
        store.customers.update_many([{"CustomerID": 7, "Comments": "x"}, {"CustomerID": 30, "Comments": "y"}])
        store_sleep(2.1)  # past the lag and the second the next window shares with this one
        second = store.customers.sync(first.next_since, lag=1, concurrency=3, max_clock_skew=None)
        assert {c.customer_id: c.comments for c in second} == {7: "x", 30: "y"}
        assert second.complete and second.window is not None and second.window.since == first.next_since
        store_sleep(1.1)
        third = store.customers.sync(second.next_since, lag=1, max_clock_skew=None)
        assert list(third) == [] and third.complete is True


def test_async_sync_run(clocked_mock: MockServer) -> None:
    async def scenario() -> tuple[list[object], threedcart.AsyncSyncRun]:
        async with threedcart.AsyncStore(**store_kwargs(clocked_mock)) as store:  # type: ignore[arg-type]
            run = store.customers.sync(None, lag=1, concurrency=2, page_size=7, max_clock_skew=None)
            return [c.customer_id async for c in run], run

    ids, run = asyncio.run(scenario())
    assert sorted(ids) == list(range(1, 41))  # type: ignore[type-var]
    assert run.complete is True and run.exported == 40 and "complete=True" in repr(run)


class _CountsMoreThanItLists(BaseHTTPRequestHandler):
    """Counts 5 customers, lists 2: a window that can never be proven complete."""

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        if "countonly" in query:
            body = b'{"TotalCount": 5}'
        else:
            offset, limit = int(query["offset"][0]), int(query["limit"][0])
            page = [1, 2][offset - 1 : offset - 1 + limit]
            body = json.dumps([{"CustomerID": i} for i in page]).encode() if page else b""
        self.send_response(200 if body else 400)  # send_response adds a Date header
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def unprovable() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CountsMoreThanItLists)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_run_that_cannot_prove_its_window_keeps_the_watermark(unprovable: str) -> None:
    since = datetime(2026, 1, 1, tzinfo=UTC)
    with threedcart.Store(secure_url="https://s", private_key="k", token="t", base_url=unprovable) as store:
        run = store.customers.sync(since, max_passes=2)
        assert [c.customer_id for c in run] == [1, 2]
    assert run.complete is False and run.next_since is None and run.passes == 2
    assert (
        run.reason == "the window still counts 5 customers after 2 reading(s), but the last reading found 2"
    )
    assert run.window is not None and abs(run.window.until - datetime.now(UTC)) < timedelta(seconds=30)


def test_cli_sync_that_cannot_prove_its_window_exits_1_and_keeps_the_state(
    unprovable: str, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"next_since": "2026-01-01T00:00:00+00:00"}))
    env = {
        **os.environ,
        "THREEDCART_SECURE_URL": "https://s",
        "THREEDCART_PRIVATE_KEY": "k",
        "THREEDCART_TOKEN": "t",
        "THREEDCART_BASE_URL": unprovable,
    }
    target = tmp_path / "out.jsonl"
    done = subprocess.run(
        [CLI, "customers", "sync", "--state", str(state), "-o", str(target)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert (
        "sync incomplete" in done.stderr and "the watermark stays at 2026-01-01T00:00:00+00:00" in done.stderr
    )
    assert not target.exists() and (tmp_path / "out.jsonl.incomplete").exists()
    assert json.loads(state.read_text()) == {"next_since": "2026-01-01T00:00:00+00:00"}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_cli_sync_creates_the_state_folder_and_names_the_output_after_the_window(
    clocked_mock: MockServer, tmp_path: Path
) -> None:
    state = tmp_path / "new" / "folder" / "sync.json"
    env = {
        **os.environ,
        "THREEDCART_SECURE_URL": clocked_mock.headers["SecureURL"],
        "THREEDCART_PRIVATE_KEY": clocked_mock.headers["PrivateKey"],
        "THREEDCART_TOKEN": clocked_mock.headers["Token"],
        "THREEDCART_BASE_URL": clocked_mock.url,
    }
    done = subprocess.run(
        [CLI, "customers", "sync", "--state", str(state), "--lag", "1", "--max-clock-skew", "inf"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    saved = json.loads(state.read_text())
    until = datetime.fromisoformat(saved["last_window"]["until"])
    assert saved["next_since"] == saved["last_window"]["until"] and until.utcoffset() is not None
    output = state.with_name(f"sync-{until.astimezone(UTC):%Y%m%dT%H%M%SZ}.jsonl")
    assert Path(saved["last_output"]) == output and len(output.read_text().splitlines()) == 40
    assert sorted(p.name for p in state.parent.iterdir()) == sorted([state.name, output.name])
    too_short = subprocess.run(
        [CLI, "customers", "sync", "--state", str(state), "--lag", "0.5"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert too_short.returncode == 2 and "0.5" in too_short.stderr
