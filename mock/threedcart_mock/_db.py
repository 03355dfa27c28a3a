"""The mock's storage: customers of several stores in one SQLite database.

Each customer is kept as the JSON text the API answers (so a page is a join of stored
strings, never re-serialised) plus the columns the list filters search. Writes commit
before the answer is sent; with a file database and `synchronous=FULL` in WAL mode an
acknowledged write survives a crash of the process or the machine.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

STORE_TZ = ZoneInfo("America/New_York")
DB_TIME = "%Y-%m-%d %H:%M:%S"

# Query parameter -> (column, Customer field it mirrors).
FILTER_COLUMNS: dict[str, tuple[str, str]] = {
    "email": ("email", "Email"),
    "firstname": ("first_name", "BillingFirstName"),
    "lastname": ("last_name", "BillingLastName"),
    "country": ("country", "BillingCountry"),
    "state": ("state", "BillingState"),
    "city": ("city", "BillingCity"),
    "phone": ("phone", "BillingPhoneNumber"),
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    store TEXT NOT NULL,
    group_id INTEGER,
    email TEXT COLLATE NOCASE,
    first_name TEXT COLLATE NOCASE,
    last_name TEXT COLLATE NOCASE,
    country TEXT COLLATE NOCASE,
    state TEXT COLLATE NOCASE,
    city TEXT COLLATE NOCASE,
    phone TEXT COLLATE NOCASE,
    updated TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS customers_store ON customers (store, id);
CREATE INDEX IF NOT EXISTS customers_group ON customers (store, group_id, id);
CREATE INDEX IF NOT EXISTS customers_email ON customers (store, email);
CREATE INDEX IF NOT EXISTS customers_updated ON customers (store, updated);
"""


def store_now() -> str:
    """The current time in the store's time zone (US Eastern), as stored."""
    return datetime.now(STORE_TZ).strftime(DB_TIME)


@dataclass(frozen=True, slots=True)
class Query:
    """The filters of a list request, normalised."""

    group_id: int | None = None
    equals: tuple[tuple[str, str], ...] = ()  # (column, value), case-insensitive equality
    updated_from: str | None = None  # DB_TIME, inclusive
    updated_to: str | None = None  # DB_TIME, inclusive

    def where(self, store: str) -> tuple[str, list[Any]]:
        clauses = ["store = ?"]
        args: list[Any] = [store]
        if self.group_id is not None:
            clauses.append("group_id = ?")
            args.append(self.group_id)
        for column, value in self.equals:
            clauses.append(f"{column} = ?")
            args.append(value)
        if self.updated_from is not None:
            clauses.append("updated >= ?")
            args.append(self.updated_from)
        if self.updated_to is not None:
            clauses.append("updated <= ?")
            args.append(self.updated_to)
        return " AND ".join(clauses), args


def _columns(record: dict[str, Any]) -> tuple[Any, ...]:
    group = record.get("CustomerGroupID")
    return (
        group if isinstance(group, int) else None,
        *(record.get(field) for _, field in FILTER_COLUMNS.values()),
    )


def _dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


class Database:
    """Customers of every configured store. Used from one thread (the server's event loop)."""

    _CURSOR_CACHE_SIZE = 4096

    def __init__(self, path: str = ":memory:") -> None:
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(_SCHEMA)
        # Paging by OFFSET costs O(offset); a page that continues where the previous one of
        # the same query ended starts from that page's last id instead (keyset paging), so an
        # export costs O(n) however large the store. Any write to a store forgets its cursors.
        self._cursors: dict[tuple[Any, ...], int] = {}
        self._generation: dict[str, int] = {}

    def close(self) -> None:
        self._conn.close()

    def _touched(self, store: str) -> None:
        self._generation[store] = self._generation.get(store, 0) + 1

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
        """Records `offset`..`offset+limit-1` (1-based) in CustomerID order."""
        where, args = query.where(store)
        key = (store, self._generation.get(store, 0), query, offset)
        after = self._cursors.get(key)
        if after is not None:
            sql = f"SELECT id, data FROM customers WHERE {where} AND id > ? ORDER BY id LIMIT ?"
            rows = self._conn.execute(sql, [*args, after, limit]).fetchall()
        else:
            sql = f"SELECT id, data FROM customers WHERE {where} ORDER BY id LIMIT ? OFFSET ?"
            rows = self._conn.execute(sql, [*args, limit, offset - 1]).fetchall()
        if rows:
            if len(self._cursors) >= self._CURSOR_CACHE_SIZE:
                self._cursors.clear()
            self._cursors[(store, self._generation.get(store, 0), query, offset + len(rows))] = rows[-1][0]
        return [row[1] for row in rows]

    # --- writes -------------------------------------------------------------
    def _next_id(self) -> int:
        row = self._conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'customers'").fetchone()
        return (int(row[0]) if row else 0) + 1

    def create(self, store: str, record: dict[str, Any]) -> int:
        with self._transaction():
            return self._insert(store, record, store_now())

    def _insert(self, store: str, record: dict[str, Any], updated: str) -> int:
        customer_id = self._next_id()
        record = {"CustomerID": customer_id, **{k: v for k, v in record.items() if k != "CustomerID"}}
        self._conn.execute(
            "INSERT INTO customers (id, store, group_id, email, first_name, last_name, country, state,"
            " city, phone, updated, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (customer_id, store, *_columns(record), updated, _dumps(record)),
        )
        self._touched(store)
        return customer_id

    def update(self, store: str, customer_id: int, changes: dict[str, Any]) -> bool:
        with self._transaction():
            return self._update(store, customer_id, changes, store_now())

    def update_many(self, store: str, items: Sequence[tuple[int, dict[str, Any]]]) -> list[bool]:
        """Apply each (id, changes); one transaction; whether each id existed."""
        now = store_now()
        with self._transaction():
            return [self._update(store, customer_id, changes, now) for customer_id, changes in items]

    def _update(self, store: str, customer_id: int, changes: dict[str, Any], updated: str) -> bool:
        current = self.get(store, customer_id)
        if current is None:
            return False
        record = json.loads(current)
        record.update({k: v for k, v in changes.items() if k != "CustomerID"})
        self._conn.execute(
            "UPDATE customers SET group_id = ?, email = ?, first_name = ?, last_name = ?, country = ?,"
            " state = ?, city = ?, phone = ?, updated = ?, data = ? WHERE id = ?",
            (*_columns(record), updated, _dumps(record), customer_id),
        )
        self._touched(store)
        return True

    def delete(self, store: str, customer_id: int) -> bool:
        with self._transaction():
            cur = self._conn.execute("DELETE FROM customers WHERE id = ? AND store = ?", (customer_id, store))
            self._touched(store)
            return cur.rowcount > 0

    def _transaction(self) -> _Transaction:
        return _Transaction(self._conn)

    # --- seeding ------------------------------------------------------------
    def seed(self, store: str, count: int, random_seed: int, defaults: dict[str, Any]) -> None:
        """Add `count` realistic customers, the same ones for the same seed."""
        with self._transaction():
            for record, updated in _fake_customers(count, random.Random(random_seed), defaults):
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
    count: int, rng: random.Random, defaults: dict[str, Any]
) -> Iterable[tuple[dict[str, Any], str]]:
    for n in range(count):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        city, state, country, zip_code = rng.choice(_PLACES)
        phone = f"{rng.randint(200, 999)}-{rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"
        street = f"{rng.randint(1, 9999)} {rng.choice(_STREETS)} St"
        updated = _SEED_EPOCH + timedelta(seconds=rng.randrange(_SEED_SPAN_SECONDS))
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
