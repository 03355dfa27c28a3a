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

    step("Done. The files:")
    for path in sorted(OUT.iterdir()):
        print(f"  {shown(path)}  ({path.stat().st_size:,} bytes)")
    print("The mock is stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
