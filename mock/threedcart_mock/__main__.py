"""`python -m threedcart_mock` / `threedcart-mock`: serve a mock store on loopback."""

from __future__ import annotations

import argparse
import errno
import math
import os
import resource
import signal
import socket
import sqlite3
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import NoReturn

from ._app import Settings, StoreCredentials, create_app, new_customer_defaults
from ._clock import EARLIEST_START, LATEST_START
from ._db import ORDERS, Database, Query
from ._schema import SpecError, spec_path
from ._server import Limits, run

DEMO_STORE = StoreCredentials(
    secure_url="https://demo-store.3dcartstores.com",
    private_key="demo-private-key",
    token="demo-token",
)


def _store(text: str) -> StoreCredentials:
    parts = text.split(",")
    if len(parts) != 3 or not all(p.strip() for p in parts):
        raise argparse.ArgumentTypeError("expected SECUREURL,PRIVATEKEY,TOKEN (three non-empty values)")
    return StoreCredentials(*(p.strip() for p in parts))


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 1:  # also refuses nan
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be a whole number >= 0")
    return value


def _milliseconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of milliseconds") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError("must be a finite number of milliseconds >= 0")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be between 0 and 65535 (0 picks a free port)")
    return value


def _seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def _database(text: str) -> str:
    """An SQLite file whose folder exists (the file itself is created when missing)."""
    if text == ":memory:":
        return text
    if not text.strip():
        raise argparse.ArgumentTypeError("must be a file name (or :memory:)")
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder, not a database file")
    folder = path.parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"the folder {str(folder)!r} does not exist")
    if not path.exists() and not os.access(folder, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot create a file in the folder {str(folder)!r}")
    return text


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 date and time, e.g. 2026-11-01T05:20:00Z"
        ) from None
    if value.utcoffset() is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} has no time zone: give an instant, e.g. 2026-11-01T05:20:00Z or ...-04:00"
        )
    if not EARLIEST_START <= value <= LATEST_START:
        raise argparse.ArgumentTypeError("must be between the years 1970 and 8999")
    return value


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError("must be a finite number >= 0 (0 stops the clock)")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError("must be a finite number of seconds > 0")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _on_off(text: str) -> bool:
    if text.lower() in ("on", "true", "1", "yes"):
        return True
    if text.lower() in ("off", "false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError("expected on or off")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="threedcart-mock",
        description="A local, stateful mock of the 3dcart REST API v1 Customers resource.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=_port, default=8300, help="port to bind; 0 picks a free one (default 8300)"
    )
    parser.add_argument(
        "--db",
        type=_database,
        default=":memory:",
        help="SQLite file, in a folder that exists (default: an in-memory database)",
    )
    parser.add_argument(
        "--store",
        type=_store,
        action="append",
        metavar="SECUREURL,PRIVATEKEY,TOKEN",
        help="a store's credentials (repeatable); default: one demo store, printed at start-up",
    )
    parser.add_argument(
        "--seed-customers", type=_count, default=0, metavar="N", help="add N customers to each empty store"
    )
    parser.add_argument(
        "--random-seed", type=_seed, default=0, metavar="S", help="seed of the fake data and the faults"
    )
    parser.add_argument(
        "--latency-ms", type=_milliseconds, default=0, help="delay every API answer by this long"
    )
    parser.add_argument(
        "--fault-rate", type=_fraction, default=0, help="share of API requests answered 500/503"
    )
    parser.add_argument(
        "--fault-after-commit",
        type=_fraction,
        default=0,
        metavar="P",
        help="share of successful creates, updates, bulk updates and deletes that commit and then "
        "answer 500 or drop the connection without an answer (and of successful writes answered "
        "from the spec's examples)",
    )
    parser.add_argument(
        "--rate-limit",
        type=_on_off,
        default=False,
        nargs="?",
        const=True,
        metavar="on|off",
        help="enforce the leaky bucket (50 requests, 2/s per store; overflow is 429 with Retry-After)",
    )
    parser.add_argument(
        "--bodiless-errors",
        action="store_true",
        help="answer every 400, 404 and 500 of the API with that status and no body at all",
    )
    parser.add_argument(
        "--order",
        choices=ORDERS,
        default="id",
        help="list order: CustomerID (default), or a stable order that is not CustomerID order",
    )
    parser.add_argument(
        "--clock-start",
        type=_instant,
        metavar="ISO8601",
        help="start the store clock at this instant, e.g. 2026-11-01T05:20:00Z (default: real time)",
    )
    parser.add_argument(
        "--clock-speed",
        type=_speed,
        default=1.0,
        metavar="X",
        help="store seconds per real second (default 1; 60 makes a real second a store minute)",
    )
    limits = parser.add_argument_group("limits of a shared sandbox")
    limits.add_argument(
        "--idle-timeout",
        type=_seconds,
        default=Limits.idle_timeout,
        metavar="S",
        help="close a connection with no request in progress after S seconds (default %(default)g)",
    )
    limits.add_argument(
        "--header-timeout",
        type=_seconds,
        default=Limits.header_timeout,
        metavar="S",
        help="answer 408 and close when a request's head is not complete S seconds after its "
        "first byte (default %(default)g)",
    )
    limits.add_argument(
        "--body-timeout",
        type=_seconds,
        default=Limits.body_timeout,
        metavar="S",
        help="answer 408 and close when a request's body is not complete S seconds after its "
        "head (default %(default)g)",
    )
    limits.add_argument(
        "--max-connections",
        type=_positive,
        default=Limits.max_connections,
        metavar="N",
        help="answer 503 and close a connection beyond N open ones (default %(default)d)",
    )
    limits.add_argument(
        "--max-url-bytes",
        type=_positive,
        default=Limits.max_url_bytes,
        metavar="B",
        help="answer 414 to a request target longer than B bytes (default %(default)d)",
    )
    limits.add_argument(
        "--max-header-bytes",
        type=_positive,
        default=Limits.max_header_bytes,
        metavar="B",
        help="answer 431 to request headers of more than B bytes in all (default %(default)d)",
    )
    limits.add_argument(
        "--shutdown-timeout",
        type=_seconds,
        default=Limits.shutdown_timeout,
        metavar="S",
        help="on SIGTERM or SIGINT, give the requests being answered S seconds (default %(default)g)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    stores = args.store or [DEMO_STORE]
    settings = Settings(
        stores,
        args.latency_ms,
        args.fault_rate,
        args.rate_limit,
        args.random_seed,
        bodiless_errors=args.bodiless_errors,
        fault_after_commit=args.fault_after_commit,
        order=args.order,
        clock_start=args.clock_start,
        clock_speed=args.clock_speed,
    )
    limits = Limits(
        idle_timeout=args.idle_timeout,
        header_timeout=args.header_timeout,
        body_timeout=args.body_timeout,
        max_connections=args.max_connections,
        max_url_bytes=args.max_url_bytes,
        max_header_bytes=args.max_header_bytes,
        shutdown_timeout=args.shutdown_timeout,
    )
    sock = _bind(args.host, args.port)  # before anything slow: a busy port fails at once
    _raise_file_limit(limits.max_connections + 256)
    try:
        db = Database(args.db, order=settings.order, clock=settings.clock)
    except sqlite3.Error as exc:
        sock.close()
        parser.error(f"argument --db: cannot use {args.db!r} as an SQLite database: {exc}")
    except SpecError as exc:
        sock.close()
        _spec_error(exc)
    try:
        app = create_app(settings, db)
        started = time.perf_counter()
        for store in stores:
            if args.seed_customers and db.count(store.key, Query()) == 0:
                db.seed(store.key, args.seed_customers, args.random_seed, new_customer_defaults())
        seeded = time.perf_counter() - started
    except SpecError as exc:
        sock.close()
        db.close()
        _spec_error(exc)

    host, port = sock.getsockname()[:2]
    url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    if args.seed_customers:
        print(f"seeded {args.seed_customers} customers per empty store in {seeded:.1f} s", flush=True)
    if not args.store:
        print(
            f"demo store: SecureURL={DEMO_STORE.secure_url} PrivateKey={DEMO_STORE.private_key} "
            f"Token={DEMO_STORE.token}",
            flush=True,
        )
    if app.state.from_spec:
        print(
            f"answered statelessly from the spec's examples (no handler in the mock): "
            f"{', '.join(app.state.from_spec)}",
            flush=True,
        )
    # A SIGTERM before the server handles it (or after) is a clean exit as well.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    try:
        run(app, limits, settings.clock, sock, lambda loop: _announce(url, loop))
    except KeyboardInterrupt:
        pass
    finally:
        db.close()
    sys.exit(0)


def _announce(url: str, loop: str) -> None:
    print(f"threedcart-mock listening on {url} ({loop})", flush=True)


def _spec_error(exc: SpecError) -> NoReturn:
    print(f"threedcart-mock: cannot serve {spec_path()}: {exc}", file=sys.stderr, flush=True)
    sys.exit(1)


def _bind(host: str, port: int) -> socket.socket:
    """The socket to listen on; else one line on stderr and exit status 1, not a traceback."""
    sock = None
    try:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit this; without it small answers wait out delayed ACKs (~40 ms).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
    except (OSError, OverflowError) as exc:
        if sock is not None:
            sock.close()
        if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
            reason = "the address is already in use (another server is listening there)"
        else:
            reason = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
        print(f"threedcart-mock: cannot listen on {host}:{port}: {reason}", file=sys.stderr, flush=True)
        sys.exit(1)
    return sock


def _raise_file_limit(wanted: int) -> None:
    """Let the process hold `wanted` descriptors (one per connection) when the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


if __name__ == "__main__":
    main()
