"""The mock's storage: customers of several stores in one SQLite database.

Each customer is kept as the JSON text the API answers (so a page is a join of stored
strings, never re-serialised) plus the columns the list filters search: one per Customer field
that an `x-threedcart-filter` of the spec compares, derived from the spec at start-up. Writes commit
before the answer is sent; with a file database and `synchronous=FULL` in WAL mode an
acknowledged write survives a crash of the process or the machine.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from ._clock import DB_TIME, STORE_TZ, StoreClock

__all__ = [
    "DB_TIME",
    "ORDERS",
    "STORE_TZ",
    "Database",
    "Query",
    "filter_column",
    "filtered_fields",
    "json_path",
    "shuffle_key",
]

Order = Literal["id", "shuffled"]
ORDERS: tuple[Order, ...] = ("id", "shuffled")

# The list filters' columns are not here: there is one (`filter_column`) per Customer field that a
# filter of the spec compares, added at start-up, indexed, and kept by every write.
_TABLE = """
CREATE TABLE IF NOT EXISTS customers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    store TEXT NOT NULL,
    group_id INTEGER,
    updated TEXT NOT NULL,
    data TEXT NOT NULL,
    shuffle_key INTEGER NOT NULL DEFAULT 0
);
"""
_INDEXES = """
CREATE INDEX IF NOT EXISTS customers_store ON customers (store, id);
CREATE INDEX IF NOT EXISTS customers_group ON customers (store, group_id, id);
CREATE INDEX IF NOT EXISTS customers_updated ON customers (store, updated);
"""
_SHUFFLED_INDEXES = """
CREATE INDEX IF NOT EXISTS customers_store_shuffled ON customers (store, shuffle_key);
CREATE INDEX IF NOT EXISTS customers_group_shuffled ON customers (store, group_id, shuffle_key);
"""
_SHUFFLE_SQL = "(id * 2654435761) % 4294967296"
_FILTER_PREFIX = "f_"  # of the generated columns
_FILTER_INDEX_PREFIX = "customers_f_"  # of their indexes
_FORMAT = 2
"""`PRAGMA user_version` of a database file this mock wrote: 2, filter columns hold casefolded text;
0 (older mocks), they held the text as sent, compared with SQLite's NOCASE (ASCII only)."""


def fold(value: Any) -> Any:
    """A value as filters compare it: text casefolded (Unicode's caseless matching: "ZÜRICH" and
    "zürich", "STRASSE" and "straße" are equal), anything else as it is."""
    return value.casefold() if isinstance(value, str) else value


def shuffle_key(customer_id: int) -> int:
    """The sort key of `--order shuffled`: a bijection of 32-bit ids (Knuth's multiplicative hash).

    2654435761 is odd, so multiplication modulo 2**32 is invertible: distinct ids (1..2**31-1)
    get distinct keys, and the order is total and never changes for a record. The same
    expression in SQL (`_SHUFFLE_SQL`) fits in SQLite's 64-bit integers.
    """
    return (customer_id * 2654435761) % 4294967296


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def filter_column(field: str) -> str:
    """The column (a quoted SQL identifier) that mirrors a Customer field for the filters.

    It holds the field's value folded (`fold`), and so does every value compared with it: `=` on it
    is the filters' exact, case-insensitive match, for any script.
    """
    return _quote(_FILTER_PREFIX + field)


def json_path(field: str) -> str:
    """SQLite's JSON path of a top-level key (a filtered field's name never holds a double quote)."""
    return '$."' + field + '"'


def filtered_fields() -> tuple[str, ...]:
    """The Customer fields the spec's list filters compare, with a column each (arrays have none:
    they are searched with json_each)."""
    from ._operations import LAST_UPDATE, customer_filters  # the spec, read once
    from ._schema import customer_fields

    fields = customer_fields()
    names = {
        f.field
        for found in customer_filters().values()
        for f in found
        if f.field != LAST_UPDATE and fields[f.field].kind is not list
    }
    return tuple(sorted(names))


@dataclass(frozen=True, slots=True)
class Query:
    """The filters of a list request, normalised."""

    group_id: int | None = None
    equals: tuple[tuple[str, Any], ...] = ()  # (filter column, value): exact, case-insensitive for text
    updated_from: str | None = None  # DB_TIME, inclusive
    updated_to: str | None = None  # DB_TIME, inclusive
    bounds: tuple[tuple[str, str, Any], ...] = ()  # (filter column, ">=" or "<=", value)
    contains: tuple[tuple[str, Any], ...] = ()  # (field, value): an item of the array field equals value

    def where(self, store: str) -> tuple[str, list[Any]]:
        clauses = ["store = ?"]
        args: list[Any] = [store]
        if self.group_id is not None:
            clauses.append("group_id = ?")
            args.append(self.group_id)
        for column, value in self.equals:
            clauses.append(f"{column} = ?")
            args.append(fold(value))
        if self.updated_from is not None:
            clauses.append("updated >= ?")
            args.append(self.updated_from)
        if self.updated_to is not None:
            clauses.append("updated <= ?")
            args.append(self.updated_to)
        for column, op, value in self.bounds:
            clauses.append(f"{column} {'>=' if op == '>=' else '<='} ?")
            args.append(fold(value))
        for field, value in self.contains:
            clauses.append(
                "EXISTS (SELECT 1 FROM json_each(customers.data, ?) AS item WHERE casefold(item.value) = ?)"
            )
            args += [json_path(field), fold(value)]
        return " AND ".join(clauses), args


# The query of a whole store: its members are the store's records, whatever an update changes.
EVERYONE = Query()


def _group(record: dict[str, Any]) -> int | None:
    group = record.get("CustomerGroupID")
    return group if isinstance(group, int) and not isinstance(group, bool) else None


def _dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


class _Cursors:
    """What is known of one store's lists: (query, 1-based position) -> sort key of the row there.

    An entry is the fact "row number `position` of `query`'s list, in the database's order,
    is the record with this sort key". Sort keys are unique and never change for a record,
    so the fact holds exactly while (a) that record still matches the query and (b) as many
    matching records as before sort below it. A write to one record can break (a) or (b)
    only for entries whose key is >= the record's key; an update cannot change who matches
    `EVERYONE` (store and id never change), so it breaks none of those entries.
    """

    __slots__ = ("entries", "high", "high_filtered")

    def __init__(self) -> None:
        self.entries: dict[tuple[Query, int], int] = {}
        self.high = -1  # >= every key in entries
        self.high_filtered = -1  # >= every key of an entry whose query is not EVERYONE

    def remember(self, query: Query, position: int, key: int, limit: int) -> None:
        entry = (query, position)
        self.entries.pop(entry, None)  # re-inserted last: eviction drops the least recently stored
        if len(self.entries) >= limit:
            del self.entries[next(iter(self.entries))]
        self.entries[entry] = key
        self.high = max(self.high, key)
        if query != EVERYONE:
            self.high_filtered = max(self.high_filtered, key)

    def changed(self, key: int, *, update: bool) -> None:
        """The record with sort key `key` is being created, updated or deleted."""
        if key > (self.high_filtered if update else self.high):
            return  # every entry sorts before the record: none is affected
        self.entries = {
            entry: known
            for entry, known in self.entries.items()
            if known < key or (update and entry[0] == EVERYONE)
        }
        self.high = max(self.entries.values(), default=-1)
        self.high_filtered = max((k for e, k in self.entries.items() if e[0] != EVERYONE), default=-1)


class Database:
    """Customers of every configured store. Used from one thread (the server's event loop)."""

    _CURSOR_CACHE_SIZE = 4096  # per store

    def __init__(
        self,
        path: str = ":memory:",
        *,
        order: Order = "id",
        clock: StoreClock | None = None,
        filter_fields: Iterable[str] | None = None,
    ) -> None:
        if order not in ORDERS:
            raise ValueError(f"order must be one of {', '.join(ORDERS)}")
        self.order = order
        self.clock = clock or StoreClock()
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.create_function("casefold", 1, fold, deterministic=True)
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(_TABLE)
        self._add_shuffle_keys()
        self._conn.executescript(_INDEXES)
        self._add_filter_columns(filtered_fields() if filter_fields is None else tuple(filter_fields))
        if order == "shuffled":
            self._conn.executescript(_SHUFFLED_INDEXES)
        self._sort_column = "id" if order == "id" else "shuffle_key"
        # Paging by OFFSET costs O(offset). A request whose offset is a position that an earlier
        # page of the same query started or ended at, or the one just after, starts from that
        # row's sort key instead (keyset paging), so an export costs O(n) however large the
        # store, also when pages overlap or a client steps back. See `_Cursors` for why a
        # write forgets only the positions it may have moved.
        self._cursors: dict[str, _Cursors] = {}
        self._data_version = self._external_version()
        self.paths: Counter[str] = Counter()  # how pages were found: "offset", "after" or "from"

    def close(self) -> None:
        self._conn.close()

    def _add_shuffle_keys(self) -> None:
        """Files written before `--order shuffled` existed lack the column: add and fill it."""
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(customers)")}
        if "shuffle_key" not in columns:
            with self._transaction():
                self._conn.execute("ALTER TABLE customers ADD COLUMN shuffle_key INTEGER NOT NULL DEFAULT 0")
                self._conn.execute(f"UPDATE customers SET shuffle_key = {_SHUFFLE_SQL}")

    def _add_filter_columns(self, fields: tuple[str, ...]) -> None:
        """A column and an index for each filtered field, kept by every write (as the record's
        JSON has it: json_extract's types, text folded), so that filters read columns, not JSON.

        A column added for a field is filled from the stored records once. A filter column that
        no filter uses any more is dropped: a column exists exactly while writes keep it, so a
        filter that comes back later is filled afresh, never read stale; so is every filter column
        of a file whose format is older than `_FORMAT`.
        """
        self._filter_fields = fields
        # cid, name, type, notnull, default, pk, hidden (2 or 3: generated)
        columns = {str(row[1]): int(row[6]) for row in self._conn.execute("PRAGMA table_xinfo(customers)")}
        indexes = {
            str(row[0])
            for row in self._conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'customers'"
            )
        }
        wanted = {_FILTER_PREFIX + field for field in fields}
        unfolded = int(self._conn.execute("PRAGMA user_version").fetchone()[0]) < _FORMAT
        with self._transaction():
            for name, hidden in list(columns.items()):
                if name.startswith(_FILTER_PREFIX) and (name not in wanted or hidden or unfolded):
                    index = _FILTER_INDEX_PREFIX + name[len(_FILTER_PREFIX) :]
                    if index in indexes:
                        self._conn.execute(f"DROP INDEX {_quote(index)}")
                        indexes.discard(index)
                    self._conn.execute(f"ALTER TABLE customers DROP COLUMN {_quote(name)}")
                    del columns[name]
            for field in fields:
                column = filter_column(field)
                if _FILTER_PREFIX + field not in columns:
                    self._conn.execute(f"ALTER TABLE customers ADD COLUMN {column}")
                    self._conn.execute(
                        f"UPDATE customers SET {column} = casefold(json_extract(data, ?))",
                        (json_path(field),),
                    )
                if _FILTER_INDEX_PREFIX + field not in indexes:
                    index = _quote(_FILTER_INDEX_PREFIX + field)
                    self._conn.execute(f"CREATE INDEX {index} ON customers (store, {column})")
            self._conn.execute(f"PRAGMA user_version = {_FORMAT}")
        names = "".join(", " + filter_column(field) for field in fields)
        marks = ", ?" * len(fields)
        self._insert_sql = (
            f"INSERT INTO customers (id, store, group_id, updated, data, shuffle_key{names})"
            f" VALUES (?, ?, ?, ?, ?, ?{marks})"
        )
        self._update_sql: dict[tuple[str, ...], str] = {}  # by the filtered fields an update changes

    def _filter_values(self, record: dict[str, Any], fields: tuple[str, ...] | None = None) -> list[Any]:
        """The filter columns' values of a record: json_extract's (true is 1, an array is JSON text),
        folded."""
        values = []
        for field in self._filter_fields if fields is None else fields:
            value = record.get(field)
            if isinstance(value, list | dict):
                value = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
            values.append(fold(value))
        return values

    def sort_key(self, customer_id: int) -> int:
        """Where a record sorts in this database's order."""
        return customer_id if self.order == "id" else shuffle_key(customer_id)

    def _changed(self, store: str, customer_id: int, *, update: bool) -> None:
        cursors = self._cursors.get(store)
        if cursors is not None:
            cursors.changed(self.sort_key(customer_id), update=update)

    def _external_version(self) -> int:
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def known_positions(self, store: str, query: Query = EVERYONE) -> dict[int, int]:
        """The cursor cache of one query: 1-based position -> sort key of the row there."""
        cursors = self._cursors.get(store)
        if cursors is None:
            return {}
        return {position: key for (q, position), key in cursors.entries.items() if q == query}

    # --- reads --------------------------------------------------------------
    def get(self, store: str, customer_id: int) -> str | None:
        row = self._conn.execute(
            "SELECT data FROM customers WHERE id = ? AND store = ?", (customer_id, store)
        ).fetchone()
        return None if row is None else str(row[0])

    def count(self, store: str, query: Query) -> int:
        where, args = query.where(store)
        return int(self._conn.execute(f"SELECT count(*) FROM customers WHERE {where}", args).fetchone()[0])

    def page(self, store: str, query: Query, limit: int, offset: int) -> list[str]:
        """Records `offset`..`offset+limit-1` (1-based) in the database's order.

        Always the same rows as `ORDER BY <order> LIMIT limit OFFSET offset-1` on the current
        data; found from a known position when there is one (see `_Cursors`).
        """
        version = self._external_version()
        if version != self._data_version:  # another connection wrote to the file: trust nothing
            self._cursors.clear()
            self._data_version = version
        where, args = query.where(store)
        sort = self._sort_column
        cursors = self._cursors.setdefault(store, _Cursors())
        before = cursors.entries.get((query, offset - 1))
        at = cursors.entries.get((query, offset)) if before is None else None
        if before is not None:
            self.paths["after"] += 1
            sql = f"SELECT {sort}, data FROM customers WHERE {where} AND {sort} > ? ORDER BY {sort} LIMIT ?"
            rows = self._conn.execute(sql, [*args, before, limit]).fetchall()
        elif at is not None:
            self.paths["from"] += 1
            sql = f"SELECT {sort}, data FROM customers WHERE {where} AND {sort} >= ? ORDER BY {sort} LIMIT ?"
            rows = self._conn.execute(sql, [*args, at, limit]).fetchall()
        else:
            self.paths["offset"] += 1
            sql = f"SELECT {sort}, data FROM customers WHERE {where} ORDER BY {sort} LIMIT ? OFFSET ?"
            rows = self._conn.execute(sql, [*args, limit, offset - 1]).fetchall()
        if rows:
            cursors.remember(query, offset, int(rows[0][0]), self._CURSOR_CACHE_SIZE)
            cursors.remember(query, offset + len(rows) - 1, int(rows[-1][0]), self._CURSOR_CACHE_SIZE)
        return [row[1] for row in rows]

    # --- writes -------------------------------------------------------------
    # Each write forgets the cursors it may invalidate *before* it changes the row, so that
    # nothing (not even a failed commit) can leave a stale cursor behind.
    def _next_id(self) -> int:
        row = self._conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'customers'").fetchone()
        return (int(row[0]) if row else 0) + 1

    def create(self, store: str, record: dict[str, Any]) -> int:
        with self._transaction():
            return self._insert(store, record, self.clock.store_stamp())

    def _insert(self, store: str, record: dict[str, Any], updated: str) -> int:
        customer_id = self._next_id()
        record = {"CustomerID": customer_id, **{k: v for k, v in record.items() if k != "CustomerID"}}
        self._changed(store, customer_id, update=False)
        self._conn.execute(
            self._insert_sql,
            (
                customer_id,
                store,
                _group(record),
                updated,
                _dumps(record),
                shuffle_key(customer_id),
                *self._filter_values(record),
            ),
        )
        return customer_id

    def update(self, store: str, customer_id: int, changes: dict[str, Any]) -> bool:
        with self._transaction():
            return self._update(store, customer_id, changes, self.clock.store_stamp())

    def update_many(self, store: str, items: Sequence[tuple[int, dict[str, Any]]]) -> list[bool]:
        """Apply each (id, changes); one transaction; whether each id existed."""
        now = self.clock.store_stamp()
        with self._transaction():
            return [self._update(store, customer_id, changes, now) for customer_id, changes in items]

    def _update(self, store: str, customer_id: int, changes: dict[str, Any], updated: str) -> bool:
        current = self.get(store, customer_id)
        if current is None:
            return False
        record = json.loads(current)
        record.update({k: v for k, v in changes.items() if k != "CustomerID"})
        # Only the filter columns of the fields sent are set: an index is touched only when its
        # column is (an update of Comments leaves every filter index alone).
        changed = tuple(field for field in self._filter_fields if field in changes)
        self._changed(store, customer_id, update=True)
        self._conn.execute(
            self._update_statement(changed),
            (_group(record), updated, _dumps(record), *self._filter_values(record, changed), customer_id),
        )
        return True

    def _update_statement(self, changed: tuple[str, ...]) -> str:
        sql = self._update_sql.get(changed)
        if sql is None:
            sets = "".join(f", {filter_column(field)} = ?" for field in changed)
            sql = f"UPDATE customers SET group_id = ?, updated = ?, data = ?{sets} WHERE id = ?"
            self._update_sql[changed] = sql
        return sql

    def delete(self, store: str, customer_id: int) -> bool:
        with self._transaction():
            if self.get(store, customer_id) is None:
                return False
            self._changed(store, customer_id, update=False)
            cur = self._conn.execute("DELETE FROM customers WHERE id = ? AND store = ?", (customer_id, store))
            return cur.rowcount > 0

    def _transaction(self) -> _Transaction:
        return _Transaction(self._conn)

    # --- seeding ------------------------------------------------------------
    def seed(self, store: str, count: int, random_seed: int, defaults: dict[str, Any]) -> None:
        """Add `count` realistic customers, the same ones for the same seed.

        Their last-update stamps spread over 900 days from 2024-01-01, or over the 900 days
        that end an hour before the store's clock if that is earlier: never in the store's future.
        """
        latest = self.clock.now().astimezone(STORE_TZ).replace(tzinfo=None) - timedelta(hours=1)
        epoch = min(_SEED_EPOCH, latest - timedelta(seconds=_SEED_SPAN_SECONDS))
        with self._transaction():
            for record, updated in _fake_customers(count, random.Random(random_seed), defaults, epoch):
                self._insert(store, record, updated)


class _Transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._conn.execute("ROLLBACK" if exc_type else "COMMIT")


_FIRST = [
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "William",
    "Elizabeth",
    "David",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Maria",
    "Daniel",
    "Lisa",
    "Matthew",
    "Nancy",
    "Anthony",
    "Betty",
    "Mark",
    "Sandra",
    "Paul",
    "Ashley",
    "Steven",
    "Emily",
    "Andrew",
    "Donna",
    "Kenneth",
    "Michelle",
    "Joshua",
    "Carol",
    "Kevin",
    "Amanda",
]
_LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
]
_PLACES = (
    ("Miami", "FL", "US", "33101"),
    ("Tampa", "FL", "US", "33602"),
    ("Austin", "TX", "US", "73301"),
    ("Dallas", "TX", "US", "75201"),
    ("Houston", "TX", "US", "77002"),
    ("New York", "NY", "US", "10001"),
    ("Buffalo", "NY", "US", "14201"),
    ("Los Angeles", "CA", "US", "90001"),
    ("San Diego", "CA", "US", "92101"),
    ("Seattle", "WA", "US", "98101"),
    ("Chicago", "IL", "US", "60601"),
    ("Boston", "MA", "US", "02108"),
    ("Denver", "CO", "US", "80202"),
    ("Atlanta", "GA", "US", "30303"),
    ("Toronto", "ON", "CA", "M5H 2N2"),
    ("Vancouver", "BC", "CA", "V6B 1A1"),
    ("London", "", "GB", "SW1A 1AA"),
    ("Berlin", "", "DE", "10115"),
)
_STREETS = ["Main", "Oak", "Pine", "Maple", "Cedar", "Elm", "Lake", "Hill", "Park", "Washington"]
_SEED_EPOCH = datetime(2024, 1, 1)
_SEED_SPAN_SECONDS = 900 * 24 * 3600


def _fake_customers(
    count: int, rng: random.Random, defaults: dict[str, Any], epoch: datetime = _SEED_EPOCH
) -> Iterable[tuple[dict[str, Any], str]]:
    for n in range(count):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        city, state, country, zip_code = rng.choice(_PLACES)
        phone = f"{rng.randint(200, 999)}-{rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"
        street = f"{rng.randint(1, 9999)} {rng.choice(_STREETS)} St"
        updated = epoch + timedelta(seconds=rng.randrange(_SEED_SPAN_SECONDS))
        record = dict(defaults)
        record.update(
            Email=f"{first}.{last}.{n}@example.com".lower(),
            BillingFirstName=first,
            BillingLastName=last,
            BillingAddress1=street,
            BillingCity=city,
            BillingState=state,
            BillingZipCode=zip_code,
            BillingCountry=country,
            BillingPhoneNumber=phone,
            BillingTaxID=None if rng.random() < 0.7 else f"TX{rng.randint(100000, 999999)}",
            ShippingFirstName=first,
            ShippingLastName=last,
            ShippingAddress1=street,
            ShippingCity=city,
            ShippingState=state,
            ShippingZipCode=zip_code,
            ShippingCountry=country,
            ShippingPhoneNumber=phone,
            ShippingAddressType=rng.choice((0, 1)),
            CustomerGroupID=rng.choices((0, 1, 2, 3), weights=(70, 15, 10, 5))[0],
            MailList=rng.random() < 0.4,
            TotalStoreCredit=round(rng.choice((0.0, 0.0, 0.0, rng.uniform(1, 200))), 2),
        )
        yield record, updated.strftime(DB_TIME)
