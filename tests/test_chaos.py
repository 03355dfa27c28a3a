"""Chaos: reads, exports and syncs against a mock that answers errors without bodies, while a
seeded writer creates, updates and deletes customers throughout.

What is checked is the guarantee the README states: a customer that matches from the start of
a read to its end is yielded exactly once; nothing is yielded twice; across consecutive sync
runs a customer updated during run N is in run N or N+1, and the last version of every
customer reaches some run.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import threedcart
from conftest import store_kwargs
from threedcart_mock.testing import MockServer

STATES = ("FL", "TX", "NY", "CA")
SEED_CUSTOMERS = 3000
CLI = str(Path(sys.executable).with_name("threedcart"))


@dataclass
class Write:
    """One acknowledged write."""

    acked: float  # time.time() when the answer came
    kind: str  # "update", "delete" or "create"
    ids: list[int]
    comment: str = ""


@dataclass
class Writer:
    """A thread that changes the store as fast as the mock answers, until stopped."""

    mock: MockServer
    seed: int
    existing: set[int]
    deletes: bool = True
    pause: float = 0.0  # seconds between writes
    writes: list[Write] = field(default_factory=list)
    stop_event: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def touched(self) -> set[int]:
        """Ids updated or deleted so far."""
        return {i for w in self.writes if w.kind != "create" for i in w.ids}

    def deleted(self) -> set[int]:
        return {i for w in self.writes if w.kind == "delete" for i in w.ids}

    def start(self) -> Writer:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        assert self._thread is not None
        self._thread.join(30)

    def _run(self) -> None:
        rng = random.Random(self.seed)
        seq = 0
        with threedcart.Store(**store_kwargs(self.mock, max_retries=5)) as store:  # type: ignore[arg-type]
            while not self.stop_event.wait(self.pause):
                seq += 1
                roll = rng.random()
                ids = sorted(self.existing)
                if roll < 0.5 and ids:
                    chosen = rng.sample(ids, min(8, len(ids)))
                    comment = f"w{self.seed}-{seq}"
                    result = store.customers.update_many(
                        {"CustomerID": c, "BillingState": rng.choice(STATES), "Comments": comment}
                        for c in chosen
                    )
                    assert result.ok, result.failed
                    self.writes.append(Write(time.time(), "update", chosen, comment))
                elif roll < 0.75 and ids and self.deletes:
                    victim = rng.choice(ids)
                    store.customers.delete(victim)
                    self.existing.discard(victim)
                    self.writes.append(Write(time.time(), "delete", [victim]))
                else:
                    new = store.customers.create(
                        {"Email": f"chaos{self.seed}-{seq}@example.com", "BillingState": rng.choice(STATES)}
                    )
                    self.existing.add(new)
                    self.writes.append(Write(time.time(), "create", [new]))


@pytest.fixture(scope="module")
def chaos_mock() -> Iterator[MockServer]:
    args = ["--seed-customers", str(SEED_CUSTOMERS), "--random-seed", "3", "--bodiless-errors"]
    with MockServer([*args, "--latency-ms", "15"]) as server:
        yield server


def snapshot(mock: MockServer, **filters: str) -> dict[int, dict[str, object]]:
    """Every matching customer of a store nobody is writing to."""
    with threedcart.Store(**store_kwargs(mock)) as store:  # type: ignore[arg-type]
        out = {c.customer_id: c.to_dict() for c in store.customers.iter(concurrency=8, **filters)}
    assert all(isinstance(k, int) for k in out)
    return out  # type: ignore[return-value]


def slowly(customers: Iterator[threedcart.Customer], seconds: float) -> Iterator[int]:
    """Consume like a real sink (a CRM, a file on a slow disk): the writer gets time to act between pages."""
    for customer in customers:
        time.sleep(seconds)
        yield customer.customer_id  # type: ignore[misc]


def assert_exactly_once(read: list[int], untouched: set[int], writer: Writer, started: float) -> None:
    counts = Counter(read)
    assert not [i for i, n in counts.items() if n > 1], "a customer was yielded twice"
    lost = untouched - set(counts)
    assert not lost, f"lost {len(lost)} untouched customers: {sorted(lost)[:10]}"
    during = [w for w in writer.writes if w.acked >= started]
    assert len(during) >= 10, f"only {len(during)} writes happened during the read"


@pytest.mark.parametrize("page_size", [100, 137])  # 3,000 divides by 100, not by 137
@pytest.mark.parametrize("concurrency", [1, 4, 8])
def test_iter_under_writes_loses_no_untouched_customer(
    chaos_mock: MockServer, concurrency: int, page_size: int
) -> None:
    before = snapshot(chaos_mock)
    writer = Writer(chaos_mock, seed=concurrency * 1000 + page_size, existing=set(before)).start()
    try:
        started = time.time()
        with threedcart.Store(**store_kwargs(chaos_mock)) as store:  # type: ignore[arg-type]
            read = list(slowly(store.customers.iter(page_size=page_size, concurrency=concurrency), 0.0002))
    finally:
        writer.stop()
    assert_exactly_once(read, set(before) - writer.touched(), writer, started)  # type: ignore[arg-type]


@pytest.mark.parametrize("concurrency", [1, 4])
def test_filtered_iter_under_writes_that_move_customers_out_of_the_filter(
    chaos_mock: MockServer, concurrency: int
) -> None:
    # updates change BillingState: customers leave and enter the "FL" list while it is read
    before = snapshot(chaos_mock, state="FL")
    everyone = snapshot(chaos_mock)
    writer = Writer(chaos_mock, seed=77 + concurrency, existing=set(everyone)).start()
    try:
        started = time.time()
        with threedcart.Store(**store_kwargs(chaos_mock)) as store:  # type: ignore[arg-type]
            read = list(
                slowly(store.customers.iter(page_size=25, concurrency=concurrency, state="FL"), 0.002)
            )
    finally:
        writer.stop()
    assert_exactly_once(read, set(before) - writer.touched(), writer, started)  # type: ignore[arg-type]


async def _async_read(mock: MockServer, concurrency: int) -> list[int]:
    import asyncio

    out: list[int] = []
    async with threedcart.AsyncStore(**store_kwargs(mock)) as store:  # type: ignore[arg-type]
        async for customer in store.customers.iter(page_size=100, concurrency=concurrency):
            # a slow sink, 0.2 ms a customer as before, slept every 20th: a timer of 0.2 ms for each
            # of 3,000 customers cost the event loop 3 to 4 s, more than the reading itself
            if len(out) % 20 == 0:
                await asyncio.sleep(0.004)
            out.append(customer.customer_id)  # type: ignore[arg-type]
    return out


@pytest.mark.parametrize("concurrency", [1, 8])
def test_async_iter_under_writes_loses_no_untouched_customer(
    chaos_mock: MockServer, concurrency: int
) -> None:
    import asyncio

    before = snapshot(chaos_mock)
    writer = Writer(chaos_mock, seed=500 + concurrency, existing=set(before)).start()
    try:
        started = time.time()
        read = asyncio.run(_async_read(chaos_mock, concurrency))
    finally:
        writer.stop()
    assert_exactly_once(read, set(before) - writer.touched(), writer, started)


def test_cli_export_under_writes(chaos_mock: MockServer, tmp_path: Path) -> None:
    before = snapshot(chaos_mock)
    writer = Writer(chaos_mock, seed=4242, existing=set(before)).start()
    target = tmp_path / "export.jsonl"
    env = {
        **os.environ,
        "THREEDCART_SECURE_URL": chaos_mock.headers["SecureURL"],
        "THREEDCART_PRIVATE_KEY": chaos_mock.headers["PrivateKey"],
        "THREEDCART_TOKEN": chaos_mock.headers["Token"],
        "THREEDCART_BASE_URL": chaos_mock.url,
    }
    try:
        while len(writer.writes) < 10:  # the CLI reads fast: let the writer get going first
            time.sleep(0.01)
        started = time.time() - 60  # count the writes that made the store move before it too
        done = subprocess.run(
            [CLI, "customers", "export", "--output", str(target), "--concurrency", "4"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        writer.stop()
    assert done.returncode == 0, done.stderr
    read = [json.loads(line)["CustomerID"] for line in target.read_text().splitlines()]
    assert_exactly_once(read, set(before) - writer.touched(), writer, started)


# --- sync ------------------------------------------------------------------------------------
@dataclass
class Run:
    started: float
    ended: float
    window: threedcart.SyncWindow
    rows: dict[int, str]  # id -> Comments


def sync_runs(
    mock: MockServer,
    writer: Writer,
    runs: int,
    concurrency: int,
    pause: float,
    lag: float,
    max_clock_skew: float | None = 300.0,
) -> list[Run]:
    out: list[Run] = []
    since, skew = None, None
    with threedcart.Store(**store_kwargs(mock)) as store:  # type: ignore[arg-type]
        for n in range(runs):
            if n == runs - 1:
                writer.stop()  # the last run sees a quiet store: it must hold every last version
            time.sleep(pause)
            started = time.time()
            run = store.customers.sync(
                since,
                lag=lag,
                concurrency=concurrency,
                page_size=200,
                max_clock_skew=max_clock_skew,
                last_clock_skew=skew,
            )
            ids = [(c.customer_id, c.comments) for c in run]
            ended = time.time()
            assert run.complete, run.reason
            counts = Counter(i for i, _ in ids)
            assert not [i for i, k in counts.items() if k > 1], f"run {n} yielded a customer twice"
            assert run.window is not None
            out.append(Run(started, ended, run.window, {i: str(c) for i, c in ids}))  # type: ignore[misc]
            since, skew = run.next_since, run.clock_skew
    return out


def assert_sync_lost_nothing(runs: list[Run], writer: Writer) -> None:
    deleted = writer.deleted()
    updates = [w for w in writer.writes if w.kind == "update"]
    assert len(updates) >= 10, "too few updates to test anything"
    # a customer updated during run N is in run N or N+1 (unless updated again after run N: then
    # its newer stamp may belong to a later window, and the last check covers it)
    last_acked: dict[int, float] = {}
    for write in updates:
        for customer_id in write.ids:
            last_acked[customer_id] = write.acked
    checked = 0
    for n, run in enumerate(runs[:-1]):
        for write in updates:
            if run.started <= write.acked <= run.ended:
                for customer_id in set(write.ids) - deleted:
                    if last_acked[customer_id] > run.ended:
                        continue
                    checked += 1
                    assert customer_id in run.rows or customer_id in runs[n + 1].rows, (
                        f"#{customer_id}, updated during run {n}, is in neither run {n} nor {n + 1}"
                    )
    # nothing lost: the last version of every customer updated and not deleted reached some run
    last: dict[int, str] = {}
    for write in updates:
        for customer_id in write.ids:
            last[customer_id] = write.comment
    exported: dict[int, set[str]] = {}
    for run in runs:
        for customer_id, comment in run.rows.items():
            exported.setdefault(customer_id, set()).add(comment)
    lost = [i for i, c in last.items() if i not in deleted and c not in exported.get(i, set())]
    assert not lost, f"the last version of {len(lost)} customers never reached a run: {lost[:10]}"
    assert checked > 0, "no update fell during a run"


@pytest.mark.slow
@pytest.mark.parametrize("concurrency", [1, 8])
def test_consecutive_syncs_under_writes_lose_nothing(concurrency: int) -> None:
    # On this machine's clock (the store's, checked against it: the default max_clock_skew), so the
    # pause between runs must outlast the 1 s lag. Four runs: the whole store, two runs of changes
    # under writes (each checked with the next), and the quiet last one; six added two more pairs
    # of the same check and about 3 s.
    args = ["--seed-customers", "1500", "--random-seed", "9", "--bodiless-errors", "--latency-ms", "10"]
    with MockServer(args) as mock:
        existing = set(range(1, 1501))
        writer = Writer(mock, seed=31 + concurrency, existing=existing).start()
        try:
            runs = sync_runs(mock, writer, runs=4, concurrency=concurrency, pause=1.2, lag=1.0)
        finally:
            writer.stop()
    assert len(runs[0].rows) > 1000  # the first run is the whole store, but for what changed since
    assert_sync_lost_nothing(runs, writer)


NIGHT_SPEED = 240
"""Store seconds per real second of the fall-back night."""


@pytest.mark.slow
def test_syncs_through_a_fall_back_night_lose_nothing() -> None:
    # The store's clock starts 10 minutes before 02:00 EDT on 1 November 2026 and runs 240 times
    # faster: in about 7 s it lives through the end of the first 01:xx, the fall back and more.
    args = [
        "--seed-customers",
        "1000",
        "--bodiless-errors",
        "--clock-start",
        "2026-11-01T05:50:00Z",
        "--clock-speed",
        str(NIGHT_SPEED),
        # a round trip of 20 ms, as over a network: each run then lasts long enough for updates to
        # land during it (without it a run takes a few ms, and whether any update falls inside
        # one, which assert_sync_lost_nothing requires, is luck)
        "--latency-ms",
        "20",
    ]
    with MockServer(args) as mock:
        writer = Writer(mock, seed=1111, existing=set(range(1, 1001)), deletes=False, pause=0.05).start()
        try:
            # the store's clock is a simulation, far from this machine's: trust it. A pause of one
            # store minute between runs (as at 60 times the speed with a pause of 1 s), far above the
            # lag of 2 store seconds
            pause = 60 / NIGHT_SPEED
            runs = sync_runs(mock, writer, runs=24, concurrency=2, pause=pause, lag=2.0, max_clock_skew=None)
        finally:
            writer.stop()
    fall_back = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
    crossing = [r.window for r in runs if r.window.since and r.window.since < fall_back <= r.window.until]
    assert crossing and crossing[0].local_start is not None
    assert crossing[0].local_start.hour == 1 and crossing[0].local_end.strftime("%H:%M:%S") == "01:59:59"
    assert runs[-1].window.until > fall_back + timedelta(minutes=10)  # well into the second 01:xx
    assert_sync_lost_nothing(runs, writer)
