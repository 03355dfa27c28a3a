"""`make demo`: a tour of the `threedcart` CLI against a seeded local mock store.

Starts the mock on a free loopback port with 20,000 customers, then runs what an integration
engineer does every day: count, look, export everything, push a batch of changes back (one
bad row included), and pick up what changed. The mock is stopped even when a step fails.
"""

from __future__ import annotations

import csv
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from threedcart_mock.testing import MockServer

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(os.environ.get("DEMO_OUT", ROOT / "out" / "demo")).resolve()
CLI = str(Path(sys.executable).parent / "threedcart")
CUSTOMERS = int(os.environ.get("DEMO_CUSTOMERS", "20000"))
CHANGES = 300


def shown(path: Path) -> str:
    """A path as the reader would type it from where they ran `make demo`."""
    return os.path.relpath(path)


def step(title: str) -> None:
    print(f"\n\033[1m== {title}\033[0m", flush=True)


def cli(*args: str, env: dict[str, str], ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
    words = " ".join(shlex.quote(shown(Path(a)) if a.startswith("/") else a) for a in args)
    print(f"$ threedcart {words}", flush=True)
    result = subprocess.run([CLI, *args], env=env, text=True, stdout=subprocess.PIPE)
    print(result.stdout, end="", flush=True)
    if result.returncode not in ok:
        raise SystemExit(f"demo step failed with exit status {result.returncode}")
    return result


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        if old.is_dir():
            shutil.rmtree(old)
        else:
            old.unlink()
    step(f"Starting the local mock store with {CUSTOMERS:,} customers")
    # errors without bodies, as the real service sends some of them
    with MockServer(["--seed-customers", str(CUSTOMERS), "--random-seed", "42", "--bodiless-errors"]) as mock:
        print(f"mock listening on {mock.url}")
        env = {
            **os.environ,
            "THREEDCART_SECURE_URL": mock.headers["SecureURL"],
            "THREEDCART_PRIVATE_KEY": mock.headers["PrivateKey"],
            "THREEDCART_TOKEN": mock.headers["Token"],
            "THREEDCART_BASE_URL": mock.url,
        }
        step("How many customers, and how many per state")
        cli("customers", "count", env=env)
        for state in ("FL", "TX", "CA", "NY"):
            cli("customers", "count", "--state", state, env=env)

        step("A page of Florida customers")
        cli("customers", "list", "--state", "FL", "--limit", "8", env=env)

        step("Export everything to JSONL (progress on stderr)")
        export = OUT / "customers.jsonl"
        cli("customers", "export", "--output", str(export), "--concurrency", "4", env=env)

        step("First sync: sets the watermark")
        state_file = OUT / "sync-state.json"
        cli("customers", "sync", "--state", str(state_file), "--output", str(OUT / "sync-1.jsonl"), env=env)

        step(f"Change {CHANGES} customers in a CSV (plus one bad row) and import it")
        changes = OUT / "changes.csv"
        with export.open() as source, changes.open("w", newline="") as target:
            writer = csv.writer(target)
            writer.writerow(["CustomerID", "BillingCity", "MailList", "Comments"])
            for n, line in enumerate(source):
                if n % (CUSTOMERS // CHANGES) == 0 and n // (CUSTOMERS // CHANGES) < CHANGES:
                    customer = json.loads(line)
                    writer.writerow([customer["CustomerID"], "Orlando", "true", "moved by the demo"])
            writer.writerow([99999999, "Nowhere", "false", "this customer does not exist"])
        print(f"wrote {shown(changes)}")
        errors = OUT / "import-errors.csv"
        cli("customers", "import", str(changes), "--errors", str(errors), env=env, ok=(0, 1))
        print(f"failure report: {shown(errors)}")
        print(errors.read_text(), end="")

        step("Second sync: only what changed since the watermark")
        time.sleep(2.5)  # the sync window closes 2 s in the past, so that late writes settle
        second = OUT / "sync-2.jsonl"
        cli("customers", "sync", "--state", str(state_file), "--output", str(second), env=env)
        synced = sum(1 for _ in second.open())
        print(f"{synced} changed customers picked up (expected {CHANGES})")
        if synced != CHANGES:
            raise SystemExit("the second sync did not pick up exactly the changed customers")

        mirror_tour(env)

    step("Done. The files:")
    for path in sorted(OUT.iterdir()):
        print(f"  {shown(path)}  ({path.stat().st_size:,} bytes)")
    print("The mock is stopped.")
    return 0


def mirror_tour(env: dict[str, str]) -> None:
    """`customers mirror` into DuckDB: a first run, a change and a delete, a reconciling run, a query."""
    database = OUT / "customers.duckdb"
    into = f"duckdb:///{shown(database)}"
    env = {**env, "THREEDCART_MIRROR_DIR": str(OUT / "mirror-work")}  # dlt's local folder

    step("Mirror into DuckDB: the first run loads every customer, and the watermark with them")
    cli("customers", "mirror", "--into", into, env=env)

    step("A change and a delete in the store")
    with (OUT / "customers.jsonl").open() as exported:
        first, second = (json.loads(exported.readline())["CustomerID"] for _ in range(2))
    change = OUT / "change.json"
    change.write_text(json.dumps({"BillingCity": "Key West", "Comments": "changed after the first mirror"}))
    cli("customers", "update", str(first), str(change), env=env)
    cli("customers", "delete", str(second), "--yes", env=env)

    step("Mirror again with --reconcile: the change is updated, the deleted customer removed")
    time.sleep(2.5)  # the window closes 2 s in the past (the lag)
    result = cli("customers", "mirror", "--into", into, "--reconcile", env=env)
    if "inserted 0, updated 1, deleted 1" not in result.stdout:
        raise SystemExit("the reconciling mirror did not report exactly one update and one delete")

    step("The table, queried with DuckDB")
    import duckdb  # the mirror extra's

    with duckdb.connect(str(database), read_only=True) as con:
        query = (
            "SELECT customer_id, email, billing_city, comments FROM threedcart.customers "
            f"WHERE customer_id IN ({first}, {second})"
        )
        print(f"D {query};")
        for row in con.execute(query).fetchall():
            print(f"  {row}")
        query = (
            "SELECT billing_state, count(*) AS n FROM threedcart.customers "
            "WHERE billing_state <> '' GROUP BY 1 ORDER BY n DESC LIMIT 3"
        )
        print(f"D {query};")
        for row in con.execute(query).fetchall():
            print(f"  {row}")
        total = con.execute("SELECT count(*) FROM threedcart.customers").fetchone()
        print(f"{total[0] if total else 0:,} rows: the store's customers, each at its latest version")


if __name__ == "__main__":
    sys.exit(main())
