"""Hostile listings on loopback: servers that cap pages, answer an empty first page, ignore
`offset`, answer 404 to every path, or list bulk results out of order. Each ends with every
customer exactly once or a typed error, within a bounded number of requests, for `Store`,
`AsyncStore` and the CLI (whose export never replaces a good file with a short one).

Request counts are asserted; wall times are measured and printed (`pytest -s`), not asserted.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import threedcart
from conftest import API
from threedcart import errors
from threedcart._pagination import MAX_EMPTY_STARTS, MAX_STALE_PAGES

CLI = str(Path(sys.executable).with_name("threedcart"))
TOTAL = 2000
EXCEEDS = [
    {
        "Key": "Error",
        "Value": "",
        "Status": "400",
        "Message": "Offset amount exceeds the total number of records",
    }
]
NONE_FOUND = [{"Key": "Error", "Value": "", "Status": "404", "Message": "No Customer records found"}]

Reply = tuple[int, Any]  # status and JSON body (None: no body)


def customer(i: int) -> dict[str, object]:
    return {"CustomerID": i, "Email": f"c{i}@example.com"}


@dataclass
class Listing:
    """A store of customers 1..total whose list answers `serve(offset, limit, n)` shapes (n: the
    how-many-th list request), with an honest count unless `count` says otherwise."""

    serve: Callable[[int, int, int], Reply]
    count: Callable[[dict[str, str]], Reply] | None = None
    bulk: Callable[[list[dict[str, Any]]], Reply] | None = None
    everything_404: bool = False
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def requests(self) -> int:
        return len(self.seen)

    def reset(self) -> None:
        with self.lock:
            self.seen.clear()

    def answer(self, method: str, path: str, query: dict[str, str], body: bytes) -> Reply:
        with self.lock:
            self.seen.append((method, query))
            lists = sum(1 for m, q in self.seen if m == "GET" and "countonly" not in q)
        if self.everything_404:
            return 404, None
        if path != f"{API}/Customers":
            return 404, None
        if method == "PUT" and self.bulk is not None:
            return self.bulk(json.loads(body))
        if query.get("countonly") == "1":
            return self.count(query) if self.count else (200, {"TotalCount": TOTAL})
        return self.serve(int(query["offset"]), int(query["limit"]), lists)


def honest(offset: int, limit: int, total: int = TOTAL) -> Reply:
    if total == 0:
        return 404, NONE_FOUND
    if offset > total:
        return 400, EXCEEDS
    return 200, [customer(i) for i in range(offset, min(total, offset + limit - 1) + 1)]


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a reader that left mid-answer (an abandoned page): no traceback on the terminal
        super().handle_error(request, client_address)


@dataclass
class Server:
    listing: Listing

    def __enter__(self) -> Server:
        listing = self.listing

        class Handler(BaseHTTPRequestHandler):
            def _reply(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
                length = int(self.headers.get("Content-Length") or 0)
                status, body = listing.answer(self.command, url.path, query, self.rfile.read(length))
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = _reply

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _credentials(url: str) -> dict[str, Any]:
    return {"secure_url": "https://s.example.com", "private_key": "pk", "token": "tk", "base_url": url}


def read_all(url: str, kind: str, concurrency: int) -> list[int] | Exception:
    """Every id `iter()` yields with a Store or an AsyncStore, or what it raised."""
    try:
        if kind == "sync":
            with threedcart.Store(**_credentials(url), max_retries=0, timeout=5) as store:
                return [c.customer_id for c in store.customers.iter(concurrency=concurrency)]  # type: ignore[misc]

        async def scenario() -> list[int]:
            async with threedcart.AsyncStore(**_credentials(url), max_retries=0, timeout=5) as store:
                return [c.customer_id async for c in store.customers.iter(concurrency=concurrency)]  # type: ignore[misc]

        return asyncio.run(scenario())
    except Exception as exc:
        return exc


def measured(name: str, listing: Listing, call: Callable[[], Any]) -> tuple[Any, int, float]:
    listing.reset()
    started = time.monotonic()
    result = call()
    seconds = time.monotonic() - started
    # pages abandoned in flight (the listing ended before their answers) end on their own threads:
    # let them, so that their requests are counted here and not in the next measurement
    for thread in [t for t in threading.enumerate() if t.name.startswith("threedcart-page-")]:
        thread.join(10)
    if isinstance(result, subprocess.CompletedProcess):
        outcome = f"exit {result.returncode}"
    elif isinstance(result, Exception):
        outcome = type(result).__name__
    else:
        outcome = f"{len(result)} records"
    print(f"MEASURE {name}: {outcome}, {listing.requests} requests, {seconds:.3f} s")
    return result, listing.requests, seconds


def exactly_once(read: object) -> None:
    assert isinstance(read, list), read
    counts = Counter(read)
    assert [i for i, n in counts.items() if n > 1] == [], "a customer came twice"
    assert set(counts) == set(range(1, TOTAL + 1)), f"lost {TOTAL - len(counts)} customers"


KINDS = [("sync", 1), ("sync", 4), ("async", 1), ("async", 4)]


# --- pages shorter than asked for -------------------------------------------------------------------
def capped(cap: int) -> Callable[[int, int, int], Reply]:
    return lambda offset, limit, n: honest(offset, min(limit, cap))


def one_short(offset: int, limit: int, n: int) -> Reply:
    return honest(offset, max(1, limit - 1))


@pytest.mark.parametrize(("kind", "concurrency"), KINDS)
@pytest.mark.parametrize(
    ("case", "serve", "served"),
    [("cap 200", capped(200), 200), ("one record short", one_short, 499)],
)
def test_capped_pages_are_read_on_and_nothing_is_lost(
    kind: str, concurrency: int, case: str, serve: Callable[[int, int, int], Reply], served: int
) -> None:
    listing = Listing(serve)
    with Server(listing) as server:
        read, requests, _ = measured(
            f"{case} {kind} c={concurrency}", listing, lambda: read_all(server.url, kind, concurrency)
        )
    exactly_once(read)
    # the first page is short; the cap is learned from the next, then pages of `served` overlap by one
    pages = 1 + -(-(TOTAL - served) // (served - 1)) + 1  # the last page's end, proven by one more
    assert requests <= pages + 2 * concurrency + 1, requests  # the count, and pages asked blind


# --- an empty first page --------------------------------------------------------------------------
def empty_once(offset: int, limit: int, n: int) -> Reply:
    return (200, []) if n == 1 else honest(offset, limit)


@pytest.mark.parametrize(("kind", "concurrency"), KINDS)
def test_one_empty_first_page_is_checked_by_a_count_and_read_again(kind: str, concurrency: int) -> None:
    listing = Listing(empty_once)
    with Server(listing) as server:
        read, requests, _ = measured(
            f"empty first page once {kind} c={concurrency}",
            listing,
            lambda: read_all(server.url, kind, concurrency),
        )
    exactly_once(read)
    assert requests <= 1 + 1 + 5 + 2 * concurrency + 1, requests  # [], the count, 5 pages, blind ones


@pytest.mark.parametrize(("kind", "concurrency"), KINDS)
def test_a_first_page_that_stays_empty_while_the_store_counts_records_raises(
    kind: str, concurrency: int
) -> None:
    listing = Listing(lambda offset, limit, n: (200, []))
    with Server(listing) as server:
        read, requests, _ = measured(
            f"empty first page always {kind} c={concurrency}",
            listing,
            lambda: read_all(server.url, kind, concurrency),
        )
    assert isinstance(read, errors.PaginationError), read
    times = MAX_EMPTY_STARTS + 1
    assert (
        str(read)
        == f"the first page came back empty {times} times while the store counted 2000 matching records"
    )
    assert requests <= 2 * (MAX_EMPTY_STARTS + 1) + concurrency, requests


def test_an_empty_store_costs_one_count_more() -> None:
    listing = Listing(
        lambda offset, limit, n: honest(offset, limit, 0), count=lambda q: (200, {"TotalCount": 0})
    )
    with Server(listing) as server:
        for kind, concurrency in KINDS:
            read, requests, _ = measured(
                f"empty store {kind} c={concurrency}",
                listing,
                lambda k=kind, c=concurrency: read_all(server.url, k, c),  # type: ignore[misc]
            )
            # a page and the count; with concurrency, the count and the pages asked with it
            assert read == [] and 2 <= requests <= max(2, concurrency), (read, requests)


# --- a server that ignores offset -----------------------------------------------------------------
@pytest.mark.parametrize(("kind", "concurrency"), KINDS)
def test_a_server_that_ignores_offset_ends_in_a_pagination_error(kind: str, concurrency: int) -> None:
    listing = Listing(lambda offset, limit, n: honest(1, limit))
    with Server(listing) as server:
        read, requests, _ = measured(
            f"ignored offset {kind} c={concurrency}", listing, lambda: read_all(server.url, kind, concurrency)
        )
    assert isinstance(read, errors.PaginationError), read
    assert "does it ignore offset?" in str(read)
    # page 1, then MAX_STALE_PAGES + 1 pages that bring nothing new; the count and pages in flight
    assert requests <= 1 + MAX_STALE_PAGES + 1 + 2 * concurrency, requests


@pytest.mark.parametrize(("kind", "concurrency"), KINDS)
def test_a_server_that_ignores_offset_on_a_short_list_ends_too(kind: str, concurrency: int) -> None:
    listing = Listing(
        lambda offset, limit, n: honest(1, limit, 300), count=lambda q: (200, {"TotalCount": 300})
    )
    with Server(listing) as server:
        read, requests, _ = measured(
            f"ignored offset, 300 records {kind} c={concurrency}",
            listing,
            lambda: read_all(server.url, kind, concurrency),
        )
    if concurrency == 1:
        assert isinstance(read, errors.PaginationError), read
        assert requests <= 1 + MAX_STALE_PAGES + 1, requests
    else:  # the count (asked with the first pages) agrees with the first page: nothing else is missing
        assert read == list(range(1, 301)) and requests <= 1 + concurrency, (read, requests)


# --- a wrong base URL: 404 everywhere ---------------------------------------------------------------
@pytest.mark.parametrize(("kind", "concurrency"), KINDS)
def test_a_server_that_answers_404_everywhere_is_a_not_found_error_naming_base_url(
    kind: str, concurrency: int
) -> None:
    listing = Listing(lambda offset, limit, n: (404, None), everything_404=True)
    with Server(listing) as server:
        read, requests, _ = measured(
            f"404 everywhere iter {kind} c={concurrency}",
            listing,
            lambda: read_all(server.url, kind, concurrency),
        )
    assert type(read) is errors.NotFoundError, read
    assert "is base_url right" in read.message
    assert requests <= 1 + concurrency, requests  # a page and the count (the count first, with concurrency)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_list_against_404_everywhere_is_a_not_found_error(kind: str) -> None:
    listing = Listing(lambda offset, limit, n: (404, None), everything_404=True)

    def call(url: str) -> object:
        try:
            if kind == "sync":
                with threedcart.Store(**_credentials(url), max_retries=0) as store:
                    return store.customers.list()

            async def scenario() -> object:
                async with threedcart.AsyncStore(**_credentials(url), max_retries=0) as store:
                    return await store.customers.list()

            return asyncio.run(scenario())
        except Exception as exc:
            return exc

    with Server(listing) as server:
        result, requests, _ = measured(f"404 everywhere list {kind}", listing, lambda: call(server.url))
    assert type(result) is errors.NotFoundError and "is base_url right" in result.message, result
    assert requests == 2  # the page, and the count that confirms it


# --- bulk results out of order --------------------------------------------------------------------
def failures_first(items: list[dict[str, Any]]) -> Reply:
    """A 206 whose results come failures first: odd ids exist, even ones do not."""

    def result(cid: int) -> dict[str, str]:
        ok = cid % 2 == 1
        message = "updated successfully" if ok else "The Customer record was not found"
        return {"Key": "CustomerID", "Value": str(cid), "Status": "200" if ok else "404", "Message": message}

    ids = [int(item["CustomerID"]) for item in items]
    return 206, [result(c) for c in sorted(ids, key=lambda c: c % 2)]


def bulk(url: str, kind: str, items: list[dict[str, Any]]) -> Any:
    try:
        if kind == "sync":
            with threedcart.Store(**_credentials(url), max_retries=0) as store:
                return store.customers.update_many(items)

        async def scenario() -> Any:
            async with threedcart.AsyncStore(**_credentials(url), max_retries=0) as store:
                return await store.customers.update_many(items)

        return asyncio.run(scenario())
    except Exception as exc:
        return exc


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_206_listing_failures_first_reports_each_customer_by_its_id(kind: str) -> None:
    listing = Listing(capped(500), bulk=failures_first)
    items = [{"CustomerID": i, "Comments": "x"} for i in (1, 2, 3, 4, 5, 6)]
    with Server(listing) as server:
        result = bulk(server.url, kind, items)
    assert isinstance(result, threedcart.BulkResult), result
    assert result.updated == [1, 3, 5]
    assert [(f.index, f.customer_id, f.status) for f in result.failed] == [
        (1, 2, 404),
        (3, 4, 404),
        (5, 6, 404),
    ]


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize(
    ("results", "message"),
    [
        (["1", "2", "9"], "a result names CustomerID 9, which the batch does not hold"),
        (["1", "2", "2"], "a result names CustomerID 2, 2 times for 1 item(s)"),
        (["1", "2"], "2 results for 3 items"),
        (["1", "", "3"], "result 2 names no CustomerID, others do"),
    ],
)
def test_a_206_that_cannot_be_matched_is_a_validation_error_never_a_wrong_report(
    kind: str, results: list[str], message: str
) -> None:
    def answer(items: list[dict[str, Any]]) -> Reply:
        return 206, [{"Key": "CustomerID", "Value": v, "Status": "404", "Message": "no"} for v in results]

    listing = Listing(capped(500), bulk=answer)
    with Server(listing) as server:
        error = bulk(server.url, kind, [{"CustomerID": i} for i in (1, 2, 3)])
    assert type(error) is errors.APIResponseValidationError, error
    assert error.message == f"the service's answer to a bulk update of 3 does not match it: {message}"
    partial = error.partial_result  # type: ignore[attr-defined]
    assert partial.updated == [] and partial.failed == []  # the batch's outcome is unknown: in neither


# --- the CLI ------------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _no_proxy_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    yield


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "THREEDCART_SECURE_URL": "https://s.example.com",
        "THREEDCART_PRIVATE_KEY": "pk",
        "THREEDCART_TOKEN": "tk",
        "THREEDCART_BASE_URL": url,
    }
    return subprocess.run(
        [CLI, "--max-retries", "0", *args], env=env, capture_output=True, text=True, timeout=120
    )


OLD = '{"CustomerID": 1, "Email": "the previous good export"}\n'


def export(
    listing: Listing, name: str, tmp_path: Path, *extra: str
) -> tuple[subprocess.CompletedProcess[str], Path]:
    target = tmp_path / "customers.jsonl"
    target.write_text(OLD)
    with Server(listing) as server:
        done, _, _ = measured(
            f"cli export {name}",
            listing,
            lambda: cli(server.url, "customers", "export", "-o", str(target), *extra),
        )
    return done, target


def exported_ids(path: Path) -> list[int]:
    return [json.loads(line)["CustomerID"] for line in path.read_text().splitlines()]


@pytest.mark.parametrize("concurrency", ["1", "4"])
@pytest.mark.parametrize(("case", "serve"), [("cap 200", capped(200)), ("empty first page once", empty_once)])
def test_cli_export_of_capped_or_once_empty_pages_is_complete(
    tmp_path: Path, concurrency: str, case: str, serve: Callable[[int, int, int], Reply]
) -> None:
    done, target = export(Listing(serve), f"{case} c={concurrency}", tmp_path, "--concurrency", concurrency)
    assert done.returncode == 0, done.stderr
    assert f"exported {TOTAL} customers" in done.stdout
    exactly_once(exported_ids(target))


@pytest.mark.parametrize(
    ("case", "listing", "error"),
    [
        (
            "ignored offset",
            lambda: Listing(lambda offset, limit, n: honest(1, limit)),
            "does it ignore offset?",
        ),
        (
            "404 everywhere",
            lambda: Listing(lambda *asked: (404, None), everything_404=True),
            "is base_url right",
        ),
        ("empty first page always", lambda: Listing(lambda *asked: (200, [])), "came back empty"),
    ],
)
def test_cli_export_that_fails_exits_1_and_leaves_the_old_file(
    tmp_path: Path, case: str, listing: Callable[[], Listing], error: str
) -> None:
    done, target = export(listing(), case, tmp_path)
    assert done.returncode == 1 and error in done.stderr, done.stderr
    assert done.stderr.count("error: ") == 1 and "Traceback" not in done.stderr
    assert target.read_text() == OLD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["customers.jsonl"]  # no temporary file left


def counts(before: int, after: int, written: int = 0) -> Callable[[dict[str, str]], Reply]:
    """Counts `before` at first and `after` from then on; `written` for a count of recent updates."""
    asked = iter([before])

    def count(query: dict[str, str]) -> Reply:
        if query.get("lastupdatestart"):
            return 200, {"TotalCount": written}
        return 200, {"TotalCount": next(asked, after)}

    return count


@pytest.mark.parametrize(
    ("case", "total", "before", "after", "written", "complete"),
    [
        ("a list short of a still store's count", 1500, 2000, 2000, 0, False),
        ("a list longer than the store counts", 2000, 1500, 1500, 0, False),
        ("a store that grew while read", 2000, 1990, 2000, 10, True),
        ("a store that shrank while read", 1990, 2000, 1990, 0, True),
        ("a store that changed: as many written as missing", 1990, 2000, 2000, 10, True),
        ("a store that changed, too few written to explain it", 1980, 2000, 2000, 10, False),
    ],
)
def test_cli_export_checks_its_number_against_the_counts(
    tmp_path: Path, case: str, total: int, before: int, after: int, written: int, complete: bool
) -> None:
    listing = Listing(
        lambda offset, limit, n: honest(offset, limit, total), count=counts(before, after, written)
    )
    done, target = export(listing, case, tmp_path, "--concurrency", "1")
    incomplete = tmp_path / "customers.jsonl.incomplete"
    if complete:
        assert done.returncode == 0, done.stderr
        assert len(exported_ids(target)) == total and not incomplete.exists()
        return
    assert done.returncode == 1 and "export incomplete: " in done.stderr, done.stderr
    assert f"{total} customers written to {incomplete}; {target} keeps its previous export" in done.stderr
    assert target.read_text() == OLD and len(exported_ids(incomplete)) == total
    assert sorted(p.name for p in tmp_path.iterdir()) == ["customers.jsonl", "customers.jsonl.incomplete"]


def test_cli_export_to_stdout_that_cannot_be_complete_exits_1() -> None:
    listing = Listing(lambda offset, limit, n: honest(offset, limit, 1500), count=counts(2000, 2000))
    with Server(listing) as server:
        done = cli(server.url, "customers", "export", "-o", "-")
    assert done.returncode == 1 and done.stdout.count("\n") == 1500
    assert (
        "export incomplete: " in done.stderr
        and "1500 customers were written to standard output" in done.stderr
    )


def test_cli_list_against_404_everywhere_exits_1_instead_of_an_empty_table() -> None:
    listing = Listing(lambda offset, limit, n: (404, None), everything_404=True)
    with Server(listing) as server:
        done, requests, _ = measured(
            "cli list 404 everywhere", listing, lambda: cli(server.url, "customers", "list")
        )
    assert done.returncode == 1 and "is base_url right" in done.stderr and done.stdout == ""
    assert requests == 2
