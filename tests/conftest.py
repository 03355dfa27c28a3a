"""Shared fixtures: mock stores started as subprocesses on free loopback ports, a real Redis server;
and, under pytest-xdist, the modules whose tests one worker runs together."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import yaml
from threedcart_mock.testing import MockServer

if TYPE_CHECKING:
    from _redis_server import RedisServer
    from xdist.remote import Producer
    from xdist.scheduler import LoadScopeScheduling

SPEC: dict[str, Any] = yaml.safe_load(
    (Path(__file__).parent.parent / "openapi" / "customers.yaml").read_text()
)
API = posixpath.commonpath(list(SPEC["paths"])).rstrip("/")
"""The API's base path, from the spec's paths (e.g. /3dCartWebAPI/v1)."""
CUSTOMER_FIELDS: list[str] = list(SPEC["components"]["schemas"]["Customer"]["properties"])
"""The Customer object's field names, from the spec."""


@pytest.fixture(scope="session")
def seeded_mock() -> Iterator[MockServer]:
    """A read-only store of 1,234 deterministic customers, shared by the whole session. Never write to it."""
    with MockServer(["--seed-customers", "1234", "--random-seed", "7"]) as server:
        yield server


@pytest.fixture
def mock() -> Iterator[MockServer]:
    """A fresh, empty mock store for one test."""
    with MockServer() as server:
        yield server


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A real redis-server with a password on a free loopback port, for one test (tests/_redis_server.py)."""
    from _redis_server import RedisServer

    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries wait a twentieth of their back-off (a `Retry-After` is still obeyed as sent): for
    tests of what is retried and what comes of it against a faulty mock, not of how long a retry
    waits (test_transport_behaviour.py pins the delays)."""
    from threedcart._transport import RetryPolicy

    original = RetryPolicy.delay

    def delay(self: RetryPolicy, attempt: int, response: httpx.Response | None = None) -> float:
        wait = original(self, attempt, response)
        if response is not None and response.headers.get("Retry-After"):
            return wait
        return wait / 20

    monkeypatch.setattr(RetryPolicy, "delay", delay)


def http(server: MockServer, **headers: str) -> httpx.Client:
    """A raw HTTP client for the mock's demo store."""
    return httpx.Client(base_url=server.url + API, headers={**server.headers, **headers}, timeout=30)


def store_kwargs(server: MockServer, **overrides: object) -> dict[str, object]:
    """Keyword arguments of `threedcart.Store` for the mock's demo store."""
    return {
        "secure_url": server.headers["SecureURL"],
        "private_key": server.headers["PrivateKey"],
        "token": server.headers["Token"],
        "base_url": server.url,
        **overrides,
    }


# --- pytest-xdist ---------------------------------------------------------------------------------
ONE_WORKER = frozenset({"tests/test_evolution.py", "tests/test_typescript_consumer.py"})
"""Modules whose tests share a module fixture that takes seconds to build (a release of the API with
every additive change, regenerated and smoke-run; the compiled TypeScript consumer): under xdist one
worker runs all of a module's tests, so the fixture is built once, not once per worker.

(`--dist loadgroup` with `xdist_group` marks would say this per test, but pytest-xdist 3.8 groups by
rewriting `item._nodeid`, which pytest 9 no longer reads: the marks group nothing.)"""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On an xdist worker, the tests marked slow first (in their order; every worker sorts alike): the
    scheduler hands out tests in this order, so the long ones start early and the short ones fill
    the end, and neither worker is left running a 10 s test alone at the end of the run."""
    if hasattr(config, "workerinput"):
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> LoadScopeScheduling | None:
    """`-n N` (the default `--dist load`): each test is its own unit of work, as with `load`, except that
    a module of ONE_WORKER is one unit. Modules with most tests go first (xdist's loadscope order), so
    the long evolution suite starts at once instead of ending the run on one worker."""
    if config.getoption("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class OneWorkerModules(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in ONE_WORKER else nodeid

    return OneWorkerModules(config, log)
