"""The mock answering like the real service where it is impolite: bodiless errors, an order that is
not CustomerID order, a store clock (DST fall-back, `Date` headers), and overlapping offset pages
that stay correct and linear (keyset cursors found from a page's first or last row)."""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import http
from threedcart_mock.__main__ import parse_args
from threedcart_mock._app import new_customer_defaults
from threedcart_mock._clock import StoreClock
from threedcart_mock._db import Database, Order, Query, filter_column, shuffle_key
from threedcart_mock._operations import customer_filters
from threedcart_mock._schema import customer_fields
from threedcart_mock.testing import MockServer

SPEC = yaml.safe_load((Path(__file__).parent.parent / "openapi" / "customers.yaml").read_text())
SCHEMAS = SPEC["components"]["schemas"]
STORE = "https://demo-store.3dcartstores.com"
STORE_TIME = "%m/%d/%Y %H:%M:%S"  # the list filters' format


def _required(schema: str) -> list[str]:
    """The required properties of a request schema (its own, or those of its allOf members)."""
    parts = [SCHEMAS[schema], *SCHEMAS[schema].get("allOf", ())]
    return [name for part in parts for name in part.get("required", ())]


CREATE_REQUIRED = _required("CustomerCreate")  # Email, Password
UPDATE_ID = _required("CustomerUpdateItem")[0]  # CustomerID
LIST_FILTERS = customer_filters()["listCustomers"]  # from the spec's x-threedcart-filter
_FILTERED_FIELDS = {f.field for f in LIST_FILTERS}
# A plain text field that no list filter looks at (BillingCompany in the spec's order).
NOTE = next(
    f.name
    for f in customer_fields().values()
    if f.kind is str
    and (f.max_length or 0) >= 50
    and f.name not in _FILTERED_FIELDS
    and f.name not in CREATE_REQUIRED
)
STATE_PARAM = "state"
STATE_FIELD = next(f.field for f in LIST_FILTERS if f.param == STATE_PARAM)
STATE_COLUMN = filter_column(STATE_FIELD)
GROUP_FIELD = "CustomerGroupID"  # what /CustomerGroups/{id}/Customers selects on
assert GROUP_FIELD in customer_fields() and NOTE in customer_fields()


def _new_customer(n: int, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for name in CREATE_REQUIRED:
        kind = customer_fields()[name].kind
        body[name] = f"realism{n}@example.com" if kind is str else kind()
    return {**body, **fields}


def _create(client: httpx.Client, n: int, **fields: Any) -> int:
    r = client.post("/Customers", json=_new_customer(n, **fields))
    assert r.status_code == 201, r.text
    (result,) = r.json()
    assert result["Key"] == UPDATE_ID
    return int(result["Value"])


def _ids(records: list[dict[str, Any]]) -> list[int]:
    return [int(c[UPDATE_ID]) for c in records]


def _date(r: httpx.Response) -> datetime:
    (value,) = r.headers.get_list("date")  # exactly one
    return parsedate_to_datetime(value)


def _bodiless(r: httpx.Response, status: int) -> None:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.content == b"" and r.headers["content-length"] == "0"
    assert "content-type" not in r.headers


def _has_error_body(r: httpx.Response, status: int) -> None:
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert body[0]["Key"] == "Error" and body[0]["Status"] == str(status)


# --- --bodiless-errors ----------------------------------------------------------
def test_bodiless_errors_send_400_404_500_without_a_body() -> None:
    with MockServer(["--bodiless-errors", "--seed-customers", "5"]) as server, http(server) as client:
        cid = _create(client, 1)
        # validation 400s
        _bodiless(client.post("/Customers", json={}), 400)
        _bodiless(client.get("/Customers", params={"limit": 501}), 400)
        _bodiless(client.get("/Customers/abc"), 400)
        _bodiless(client.put("/Customers", json=[{NOTE: "no id"}]), 400)
        # the list's 404 and the offset past the end
        _bodiless(client.get("/Customers", params={"email": "nobody@nowhere.example"}), 404)
        _bodiless(client.get("/CustomerGroups/99/Customers"), 404)
        _bodiless(client.get("/Customers", params={"offset": 1000}), 400)
        # get, update, delete and bulk update of missing records
        _bodiless(client.get("/Customers/999999"), 404)
        _bodiless(client.put("/Customers/999999", json={NOTE: "x"}), 404)
        _bodiless(client.delete("/Customers/999999"), 404)
        _bodiless(client.put("/Customers", json=[{UPDATE_ID: 999999, NOTE: "x"}]), 404)
        _bodiless(client.head("/Customers/999999"), 404)
        # every other status keeps its body
        partial = client.put("/Customers", json=[{UPDATE_ID: cid, NOTE: "x"}, {UPDATE_ID: 999999}])
        assert partial.status_code == 206 and len(partial.json()) == 2
        assert client.get(f"/Customers/{cid}").json()[0][UPDATE_ID] == cid
        assert client.get("/Customers", params={"countonly": 1}).json() == {"TotalCount": 6}
        _has_error_body(client.get("/Customers", headers={"Token": "wrong"}), 401)
        _has_error_body(client.post("/Customers", content=b"x", headers={"Content-Type": "text/plain"}), 415)
        _has_error_body(client.patch("/Customers/1"), 405)
        orders = client.get("/XTestOrders")  # not an API route: the mock's own plain-text 404, with its body
        assert orders.status_code == 404 and orders.text.startswith("No such resource")


def test_bodiless_errors_keep_the_bodies_of_429_and_503() -> None:
    with MockServer(["--bodiless-errors", "--fault-rate", "1"]) as server, http(server) as client:
        seen: Counter[int] = Counter()
        for _ in range(60):
            r = client.get("/Customers")
            seen[r.status_code] += 1
            if r.status_code == 500:
                _bodiless(r, 500)
            else:
                _has_error_body(r, 503)
        assert seen[500] and seen[503] and set(seen) == {500, 503}
    with MockServer(["--bodiless-errors", "--rate-limit", "on"]) as server, http(server) as client:
        statuses = [client.get("/Customers/1").status_code for _ in range(50)]
        assert statuses == [404] * 50  # the burst, answered without bodies
        for _ in range(500):
            r = client.get("/Customers/1")
            if r.status_code == 429:
                break
        _has_error_body(r, 429)
        assert int(r.headers["Retry-After"]) >= 1


def test_client_mistakes_are_never_500() -> None:
    h = {"Content-Type": "application/json"}
    with MockServer(["--seed-customers", "3"]) as server, http(server) as client:
        # JSON may escape a lone surrogate ("\\ud800"), which no UTF-8 database can store
        lone = json.dumps({**_new_customer(1), NOTE: "\ud800"})
        assert "lone surrogate" in client.post("/Customers", content=lone, headers=h).json()[0]["Message"]
        r = client.put("/Customers/1", content=json.dumps({NOTE: "a\udfff"}), headers=h)
        assert r.status_code == 400
        r = client.put("/Customers", content=json.dumps([{UPDATE_ID: 1, NOTE: "\udc00"}]), headers=h)
        assert r.status_code == 400
        assert client.get("/Customers/1%0A").status_code == 400  # "1\n" is not an id
        # a year before 1000 still compares as a date, not as text ("999-..." > "2024-...")
        old = client.get("/Customers", params={"lastupdatestart": "01/01/0999 00:00:00", "countonly": 1})
        assert old.json() == {"TotalCount": 3}
        assert client.get("/Customers", params={"countonly": 1}).json() == {"TotalCount": 3}


# --- --order shuffled -------------------------------------------------------------
def _everything(client: httpx.Client, path: str = "/Customers", **params: Any) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for offset in range(1, 100_000, 500):
        r = client.get(path, params={**params, "limit": 500, "offset": offset})
        if r.status_code != 200:
            break
        records += r.json()
    return records


def test_shuffled_order_is_stable_not_id_order_and_pages_cover_everything_once() -> None:
    args = ["--order", "shuffled", "--seed-customers", "600", "--random-seed", "4"]
    with MockServer(args) as server, http(server) as client:
        full = _ids(_everything(client))
        assert sorted(full) == list(range(1, 601)) and full != sorted(full)
        assert full == sorted(full, key=shuffle_key)
        assert _ids(_everything(client)) == full  # stable across requests
        assert client.get("/Customers", params={"countonly": 1}).json() == {"TotalCount": 600}
        for limit in (1, 37, 100):
            paged: list[int] = []
            for offset in range(1, 700, limit):
                r = client.get("/Customers", params={"limit": limit, "offset": offset})
                if r.status_code == 400:
                    break
                paged += _ids(r.json())
            assert paged == full, limit
        # filters keep the same relative order, and count the same
        some = client.get("/Customers", params={"limit": 1, "offset": 5}).json()[0]
        state = some[STATE_FIELD]
        in_state = _ids(_everything(client, **{STATE_PARAM: state}))
        assert in_state == [cid for cid in full if cid in set(in_state)] and some[UPDATE_ID] in in_state
        count = client.get("/Customers", params={STATE_PARAM: state, "countonly": 1}).json()
        assert count == {"TotalCount": len(in_state)}
        # new records find their place without moving the others
        created = [_create(client, n) for n in range(5)]
        after = _ids(_everything(client))
        assert [cid for cid in after if cid not in created] == full
        assert after == sorted(after, key=shuffle_key)


# --- the store clock and the Date header -----------------------------------------------
def test_every_answer_carries_one_date_from_the_store_clock() -> None:
    args = ["--clock-start", "2026-11-01T05:20:00Z", "--clock-speed", "0", "--seed-customers", "2"]
    with MockServer([*args, "--rate-limit", "on"]) as server, http(server) as client:
        answers = [
            client.get("/Customers"),
            client.get("/Customers/1"),
            client.post("/Customers", json=_new_customer(1)),
            client.get("/Customers", params={"limit": 0}),
            client.get("/Customers/99999"),
            client.get("/Customers", headers={"Token": "wrong"}),
            client.patch("/Customers"),
            client.get("/Nothing/here"),
            client.head("/Customers/1"),
            httpx.get(server.url + "/openapi.yaml"),
            httpx.get(server.url + "/"),
        ]
        for _ in range(200):
            r = client.get("/Customers/1")
            if r.status_code == 429:
                answers.append(r)
                break
        assert answers[-1].status_code == 429
        for r in answers:
            assert r.headers.get_list("date") == ["Sun, 01 Nov 2026 05:20:00 GMT"], r.request.url
    with MockServer(["--bodiless-errors", *args]) as server, http(server) as client:
        r = client.get("/Customers/99999")
        _bodiless(r, 404)
        assert _date(r) == datetime(2026, 11, 1, 5, 20, tzinfo=UTC)


def test_the_default_clock_is_real_time() -> None:
    with MockServer() as server, http(server) as client:
        before = datetime.now(UTC).replace(microsecond=0)
        r = client.get("/Customers")
        after = datetime.now(UTC)
        assert before <= _date(r) <= after


def test_clock_speed_runs_the_store_clock_faster() -> None:
    start = datetime(2026, 3, 8, 6, 0, tzinfo=UTC)
    with MockServer(["--clock-start", "2026-03-08T06:00:00Z", "--clock-speed", "60"]) as server:
        with http(server) as client:
            a0 = time.monotonic()
            first = _date(client.get("/Customers"))
            a1 = time.monotonic()
            time.sleep(1.0)
            b0 = time.monotonic()
            second = _date(client.get("/Customers"))
            b1 = time.monotonic()
    assert first >= start
    elapsed = (second - first).total_seconds()
    # one-second resolution on each side; the real time between the answers is in [b0 - a1, b1 - a0]
    assert 60 * (b0 - a1) - 1 <= elapsed <= 60 * (b1 - a0) + 1, elapsed


def test_writes_in_the_repeated_hour_get_ambiguous_stamps(tmp_path: Path) -> None:
    """05:30Z and 06:30Z on 2026-11-01 are both 01:30 in New York (EDT, then EST)."""
    db = str(tmp_path / "store.sqlite")
    ids: list[int] = []
    for start in ("2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z"):
        args = ["--db", db, "--clock-start", start, "--clock-speed", "0"]
        with MockServer(args) as server, http(server) as client:
            cid = _create(client, len(ids))
            _date(client.get(f"/Customers/{cid}"))
            ids.append(cid)
    with MockServer(["--db", db]) as server, http(server) as client:

        def window(start: str, end: str) -> list[int]:
            r = client.get("/Customers", params={"lastupdatestart": start, "lastupdateend": end})
            return _ids(r.json()) if r.status_code == 200 else []

        assert window("11/01/2026 01:00:00", "11/01/2026 01:59:59") == ids  # an hour apart, same hour
        assert window("11/01/2026 01:30:00", "11/01/2026 01:30:00") == ids  # the very same stamp
        assert window("11/01/2026 02:00:00", "11/01/2026 23:59:59") == []


def test_updates_are_stamped_by_the_store_clock() -> None:
    args = ["--clock-start", "2026-11-01T05:30:00Z", "--clock-speed", "0", "--seed-customers", "20"]
    with MockServer(args) as server, http(server) as client:
        window = {"lastupdatestart": "11/01/2026 01:00:00", "lastupdateend": "11/01/2026 01:59:59"}
        assert client.get("/Customers", params=window).status_code == 404  # seeds are older
        cid = _create(client, 1)
        assert client.put("/Customers/7", json={NOTE: "touched"}).status_code == 200
        assert client.put("/Customers", json=[{UPDATE_ID: 9, NOTE: "bulk"}]).status_code == 200
        assert _ids(client.get("/Customers", params=window).json()) == [7, 9, cid]


def test_clock_options_are_checked_by_argparse(capsys: pytest.CaptureFixture[str]) -> None:
    for bad, message in (
        ("2026-11-01T05:20:00", "no time zone"),
        ("yesterday", "not an ISO 8601"),
        ("2026-13-01T00:00:00Z", "not an ISO 8601"),
        ("0001-01-01T00:00:00Z", "between the years"),
    ):
        with pytest.raises(SystemExit):
            parse_args(["--clock-start", bad])
        assert message in capsys.readouterr().err, bad
    for bad in ("-1", "nan", "inf", "fast"):
        with pytest.raises(SystemExit):
            parse_args(["--clock-speed", bad])
        assert "--clock-speed" in capsys.readouterr().err
    args = parse_args(["--clock-start", "2026-11-01T01:20:00-04:00", "--clock-speed", "60"])
    assert args.clock_start == datetime(2026, 11, 1, 5, 20, tzinfo=UTC) and args.clock_speed == 60
    with pytest.raises(RuntimeError, match="no time zone"):
        MockServer(["--clock-start", "2026-11-01T05:20:00"]).start()


def test_store_clock_follows_its_start_and_speed() -> None:
    clock = StoreClock(datetime(2026, 11, 1, 5, 59, 59, tzinfo=UTC), speed=0)
    assert clock.store_stamp() == "2026-11-01 01:59:59"
    assert clock.http_date() == b"Sun, 01 Nov 2026 05:59:59 GMT"
    assert StoreClock(datetime(2026, 11, 1, 6, 0, 0, tzinfo=UTC), 0).store_stamp() == "2026-11-01 01:00:00"
    runaway = StoreClock(datetime(8999, 1, 1, tzinfo=UTC), speed=1e300)
    time.sleep(0.01)
    assert runaway.now().year == 9999  # stops at the end of time instead of failing requests
    with pytest.raises(ValueError):
        StoreClock(datetime(2026, 11, 1))  # naive


# --- overlapping pages over HTTP ----------------------------------------------------------
class _Oracle:
    """The full list through a query the mock has never seen, so it is found by LIMIT/OFFSET."""

    def __init__(self, client: httpx.Client) -> None:
        self.client, self.calls = client, 0

    def ids(self) -> list[int]:
        self.calls += 1
        since = (datetime(1970, 1, 1) + timedelta(seconds=self.calls)).strftime(STORE_TIME)
        r = self.client.get("/Customers", params={"lastupdatestart": since, "limit": 500})
        assert r.status_code == 200
        return _ids(r.json())


def _check_page(client: httpx.Client, oracle: _Oracle, offset: int, limit: int) -> list[int]:
    r = client.get("/Customers", params={"limit": limit, "offset": offset})
    expected = oracle.ids()[offset - 1 : offset - 1 + limit]
    if not expected:
        assert r.status_code == 400
        return []
    assert r.status_code == 200 and _ids(r.json()) == expected, offset
    return expected


@pytest.mark.parametrize("order", ["id", "shuffled"])
def test_overlapping_pages_and_steps_back_answer_what_offset_would(order: str) -> None:
    args = ["--order", order, "--seed-customers", "300", "--random-seed", "6"]
    with MockServer(args) as server, http(server) as client:
        oracle, limit = _Oracle(client), 40
        # nothing changes: overlapping by one, every record comes once (plus the overlap)
        seen: list[int] = []
        offset, pages = 1, 0
        while pages < 50:
            page = _check_page(client, oracle, offset, limit)
            pages += 1
            if seen:
                assert page[0] == seen[-1]  # the overlap
                page = page[1:]
            seen += page
            if pages % 3 == 0:  # step back and read the previous page again
                _check_page(client, oracle, max(1, offset - limit + 1), limit)
            if len(page) < limit - 1:
                break
            offset += limit - 1
        assert sorted(seen) == list(range(1, 301)) and seen == oracle.ids()

        # writes between pages: every page still equals LIMIT/OFFSET on the data of that moment
        rng, limit = random.Random(order), 25
        offset, previous, pages = 1, 1, 0
        while pages < 40:
            page = _check_page(client, oracle, offset, limit)
            pages += 1
            if not page:
                break
            current = oracle.ids()
            action = pages % 6
            if action == 0:
                _create(client, pages)
            elif action == 1:
                victim = current[rng.randrange(max(1, offset - 1))]  # at or before the position
                assert client.delete(f"/Customers/{victim}").status_code == 200
            elif action == 2:
                victim = current[min(len(current) - 1, offset + limit + rng.randrange(20))]  # ahead
                assert client.delete(f"/Customers/{victim}").status_code == 200
            elif action == 3:
                assert client.put(f"/Customers/{rng.choice(current)}", json={NOTE: "x"}).status_code == 200
            elif action == 4:
                items = [{UPDATE_ID: cid, NOTE: "bulk"} for cid in rng.sample(current, 3)]
                assert client.put("/Customers", json=items).status_code == 200
            if pages % 4 == 0:
                _check_page(client, oracle, previous, limit)  # a step back after the write
            previous = offset
            offset = offset + len(page) - 1 if len(page) > 1 else offset + 1


# --- the cursor cache, in process -------------------------------------------------------------
def _db(tmp_path: Path, order: Order, count: int, clock: StoreClock | None = None) -> Database:
    db = Database(str(tmp_path / f"{order}.sqlite"), order=order, clock=clock)
    db.seed(STORE, count, 3, new_customer_defaults())
    return db


@pytest.fixture
def reader(tmp_path: Path) -> Iterator[Any]:
    """Pages computed independently: another connection, the sort done in Python."""
    connections: dict[str, sqlite3.Connection] = {}

    def expected(db: Database, query: Query, limit: int, offset: int) -> list[str]:
        conn = connections.setdefault(db.order, sqlite3.connect(tmp_path / f"{db.order}.sqlite"))
        where, args = query.where(STORE)
        rows = conn.execute(f"SELECT id, data FROM customers WHERE {where}", args).fetchall()
        rows.sort(key=lambda row: db.sort_key(row[0]))
        return [data for _, data in rows[offset - 1 : offset - 1 + limit]]

    yield expected
    for conn in connections.values():
        conn.close()


@pytest.mark.parametrize("order", ["id", "shuffled"])
def test_overlapping_pages_use_the_cursor_not_offset(tmp_path: Path, order: Order, reader: Any) -> None:
    db, everyone, limit = _db(tmp_path, order, 5000), Query(), 500
    offset, offsets = 1, []
    while True:
        page = db.page(STORE, everyone, limit, offset)
        assert page == reader(db, everyone, limit, offset)
        if len(page) < limit:
            break
        offsets.append(offset)
        offset += limit - 1  # one record of overlap
    assert db.paths == Counter({"offset": 1, "from": len(offsets)})  # only the first page used OFFSET
    known = db.known_positions(STORE)
    assert all(o in known and o + limit - 1 in known for o in offsets)
    # a step back to any page read before is found from that page's first row
    assert db.page(STORE, everyone, limit, offsets[3]) == reader(db, everyone, limit, offsets[3])
    # a page that continues without overlap is found from the previous page's last row
    assert db.page(STORE, everyone, 10, offsets[2] + limit) == reader(db, everyone, 10, offsets[2] + limit)
    assert db.paths == Counter({"offset": 1, "from": len(offsets) + 1, "after": 1})
    db.close()


def test_writes_forget_only_the_cursors_they_may_have_moved(tmp_path: Path, reader: Any) -> None:
    db, everyone = _db(tmp_path, "id", 1000), Query()
    in_state = Query(equals=((STATE_COLUMN, "TX"),))

    assert db.count(STORE, in_state) > 120

    def page(query: Query, offset: int) -> str:
        """Which path the page took; and it equals the independent LIMIT/OFFSET."""
        limit = 100 if query == everyone else 40
        before = db.paths.copy()
        assert db.page(STORE, query, limit, offset) == reader(db, query, limit, offset)
        ((path, _),) = (db.paths - before).items()  # exactly one page, one path
        return str(path)

    assert [page(everyone, o) for o in (1, 100, 199)] == ["offset", "from", "from"]
    assert [page(in_state, o) for o in (1, 40, 79)] == ["offset", "from", "from"]
    db.create(STORE, {**new_customer_defaults(), STATE_FIELD: "TX"})  # sorts after every cursor
    assert page(everyone, 298) == "from" and page(in_state, 118) == "from"
    db.update(STORE, 5, {STATE_FIELD: "TX"})  # who is in `in_state` changed at id 5
    assert page(everyone, 397) == "from"  # updates never change who is in the whole store
    assert page(in_state, 118) == "offset"
    db.delete(STORE, 1000)  # after the cursors below 1000 ...
    assert page(everyone, 100) == "from"
    db.delete(STORE, 7)  # ... before all of them
    assert page(everyone, 199) == "offset"
    db.update_many(STORE, [(3, {STATE_FIELD: "NY"}), (999, {NOTE: "x"})])
    assert page(everyone, 298) == "from" and page(in_state, 1) in {"offset", "from"}
    # The very record a cursor points at: the page after it must now start one place earlier.
    last, key = max(db.known_positions(STORE).items())
    db.delete(STORE, key)  # in id order the sort key is the id
    assert page(everyone, last + 1) == "offset"
    position, key = max(db.known_positions(STORE, in_state).items())
    db.update(STORE, key, {STATE_FIELD: "NY"})  # leaves the filter
    assert page(in_state, position + 1) == "offset"
    db.close()


@pytest.mark.parametrize("order", ["id", "shuffled"])
def test_random_walk_of_pages_and_writes_matches_offset_paging(
    tmp_path: Path, order: Order, reader: Any
) -> None:
    # A frozen clock inside the seeds' span: an update moves a record out of (or into) a window.
    clock = StoreClock(datetime(2024, 9, 1, tzinfo=UTC), speed=0)
    db = _db(tmp_path, order, 400, clock=clock)
    queries = [
        Query(),
        Query(group_id=0),
        Query(equals=((STATE_COLUMN, "TX"),)),
        Query(updated_from="2025-01-01 00:00:00"),
        Query(group_id=0, updated_to="2024-12-31 23:59:59"),
    ]
    rng = random.Random(order)
    state: dict[Query, tuple[int, int]] = {q: (1, 0) for q in queries}  # offset, length of the last page
    alive = list(range(1, 401))
    for step in range(1500):
        query = rng.choice(queries)
        offset, length = state[query]
        move = rng.random()
        if move < 0.35:
            offset = max(1, offset + length - 1)  # overlap by one
        elif move < 0.55:
            offset += length  # continue
        elif move < 0.7:
            offset = max(1, offset - rng.randrange(1, 60))  # step back
        elif move < 0.75:
            offset = rng.randrange(1, 420)
        limit = rng.choice((1, 7, 25, 60))
        got = db.page(STORE, query, limit, offset)
        assert got == reader(db, query, limit, offset), (step, query, offset, limit)
        state[query] = (offset if got else 1, len(got))
        # Half of the deletes and updates hit a record a cursor points at (the edge of the rule).
        by_key = {db.sort_key(cid): cid for cid in alive}
        pointed = [by_key[k] for k in db.known_positions(STORE, query).values() if k in by_key]
        target = rng.choice(pointed) if pointed and rng.random() < 0.5 else rng.choice(alive)
        write = rng.random()
        if write < 0.08:
            alive.append(db.create(STORE, {**new_customer_defaults(), STATE_FIELD: rng.choice(("TX", "FL"))}))
        elif write < 0.14 and len(alive) > 1:
            alive.remove(target)
            db.delete(STORE, target)
        elif write < 0.24:
            change = rng.choice(({STATE_FIELD: "TX"}, {STATE_FIELD: "NY"}, {NOTE: "n"}, {GROUP_FIELD: 1}))
            db.update(STORE, target, change)
        elif write < 0.27:
            db.update_many(STORE, [(rng.choice(alive), {STATE_FIELD: "TX"}) for _ in range(3)])
    assert db.paths["from"] > 100 and db.paths["after"] > 100  # the cursors were exercised
    db.close()


def test_a_write_by_another_connection_forgets_every_cursor(tmp_path: Path, reader: Any) -> None:
    db, everyone = _db(tmp_path, "id", 300), Query()
    assert db.page(STORE, everyone, 100, 1) == reader(db, everyone, 100, 1)
    other = sqlite3.connect(tmp_path / "id.sqlite")
    with other:
        other.execute("DELETE FROM customers WHERE id = 3")
    other.close()
    assert db.page(STORE, everyone, 100, 100) == reader(db, everyone, 100, 100)
    assert db.paths == Counter({"offset": 2})
    db.close()


def test_an_older_database_file_gets_its_shuffle_keys(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    with old:
        old.execute(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY AUTOINCREMENT, store TEXT NOT NULL,"
            " group_id INTEGER, email TEXT COLLATE NOCASE, first_name TEXT COLLATE NOCASE,"
            " last_name TEXT COLLATE NOCASE, country TEXT COLLATE NOCASE, state TEXT COLLATE NOCASE,"
            " city TEXT COLLATE NOCASE, phone TEXT COLLATE NOCASE, updated TEXT NOT NULL, data TEXT NOT NULL)"
        )
        old.executemany(
            "INSERT INTO customers (id, store, updated, data) VALUES (?, ?, '2025-01-01 00:00:00', ?)",
            [(n, STORE, json.dumps({UPDATE_ID: n})) for n in range(1, 51)],
        )
    old.close()
    db = Database(str(path), order="shuffled")
    ids = [json.loads(row)[UPDATE_ID] for row in db.page(STORE, Query(), 500, 1)]
    assert ids == sorted(range(1, 51), key=shuffle_key)
    db.close()
