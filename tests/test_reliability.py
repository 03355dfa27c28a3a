"""Reliability: faults (before and after the commit), load, durability, hostile input and secrets,
against real mock processes."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
import threedcart
from conftest import API, http, store_kwargs
from threedcart import errors
from threedcart_mock.testing import MockServer


@pytest.mark.slow
def test_faults_and_rate_limit_lose_nothing_and_duplicate_nothing(quick_backoff: None) -> None:
    # faults before the handler (never run) and after the commit (run, then 500 or no answer at all).
    # 3,000 customers, 1,500 of them updated: about 56 requests with the retries, so the SDK's
    # bucket still paces the last few (5,000 and 2,000 made about 73, and 12 s of pacing)
    customers, updated = 3000, 1500
    args = ["--seed-customers", str(customers), "--fault-rate", "0.2", "--fault-after-commit", "0.2"]
    args += ["--rate-limit", "on", "--random-seed", "8"]
    with MockServer(args) as mock:
        kwargs = store_kwargs(mock, max_retries=12, rate_limit=True)
        with threedcart.Store(**kwargs) as store:  # type: ignore[arg-type]
            ids = [c.customer_id for c in store.customers.iter()]
            assert len(ids) == customers and len(set(ids)) == customers and ids == sorted(ids)

            targets = ids[:updated]
            result = store.customers.update_many(
                {"CustomerID": cid, "Comments": f"v2-{cid}"} for cid in targets
            )
            assert result.ok and result.updated == targets and result.batches == 3  # of 500
            after = {c.customer_id: c.comments for c in store.customers.iter(concurrency=4)}
            assert all(after[cid] == f"v2-{cid}" for cid in targets)
            assert all(after[cid] != f"v2-{cid}" for cid in ids[updated:])

            acknowledged: dict[int, str] = {}
            for n in range(20):
                # A create is not retried once it may have run (a 5xx, a dropped connection): the
                # after-commit faults would turn such a retry into a second customer.
                email = f"new{n}@example.com"
                with contextlib.suppress(errors.ServerError, errors.APIConnectionError):
                    acknowledged[store.customers.create({"Email": email})] = email
            assert acknowledged
            created = {c.customer_id: c.email for c in store.customers.iter() if c.customer_id > customers}
            assert all(created.get(cid) == email for cid, email in acknowledged.items())
            assert len(set(created.values())) == len(created)  # no email twice: nothing duplicated
            assert set(created.values()) <= {f"new{n}@example.com" for n in range(20)}


def test_after_commit_faults_never_duplicate_a_create(quick_backoff: None) -> None:
    with MockServer(["--fault-after-commit", "0.3", "--random-seed", "11"]) as mock:
        returned: dict[str, int] = {}
        raised: dict[str, type[Exception]] = {}
        with threedcart.Store(**store_kwargs(mock, max_retries=3)) as store:  # type: ignore[arg-type]
            emails = [f"once-{n}@example.com" for n in range(60)]
            for email in emails:
                try:
                    returned[email] = store.customers.create({"Email": email, "Password": ""})
                except (errors.ServerError, errors.APIConnectionError) as exc:
                    raised[email] = type(exc)
            stored = [(c.customer_id, c.email) for c in store.customers.iter()]
        copies = Counter(email for _, email in stored)
        assert all(copies[email] <= 1 for email in emails), copies.most_common(3)  # never duplicated
        # every create that returned an id exists under that id
        assert all((cid, email) in stored for email, cid in returned.items())
        # and every create that raised ran once: the faults come after the commit, so a create the
        # SDK had retried would show up twice above
        assert all(copies[email] == 1 for email in raised)
        # the faults happened, both kinds: a 500 after the commit, and a connection dropped unanswered
        assert set(raised.values()) == {errors.ServerError, errors.APIConnectionError}, raised


@pytest.mark.slow
def test_after_commit_faults_lose_no_update(caplog: pytest.LogCaptureFixture, quick_backoff: None) -> None:
    caplog.set_level(logging.INFO, logger="threedcart")
    with MockServer(["--seed-customers", "40", "--fault-after-commit", "0.3", "--random-seed", "12"]) as mock:
        last: dict[int, str] = {}
        lock = threading.Lock()
        failures: list[BaseException] = []

        def client(k: int) -> None:
            mine = range(k * 5 + 1, k * 5 + 6)
            try:
                with threedcart.Store(**store_kwargs(mock, max_retries=3)) as store:  # type: ignore[arg-type]
                    for round_ in range(3):
                        for cid in mine:
                            value = f"r{round_}-{cid}"
                            # Under after-commit faults every attempt commits: an update that
                            # returned, and one that raised after its retries, both leave `value`.
                            with contextlib.suppress(errors.ServerError, errors.APIConnectionError):
                                store.customers.update(cid, {"Comments": value})
                            with lock:
                                last[cid] = value
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not failures, failures[:3]

        with threedcart.Store(**store_kwargs(mock, max_retries=3)) as store:  # type: ignore[arg-type]
            bulk = [{"CustomerID": cid, "Comments": f"bulk-{cid}"} for cid in range(1, 13)]
            for item in bulk:  # one item per request: many bulk PUTs meet a fault
                with contextlib.suppress(errors.ServerError, errors.APIConnectionError):
                    store.customers.update_many([item])
                last[int(str(item["CustomerID"]))] = str(item["Comments"])
            final = {c.customer_id: c.comments for c in store.customers.iter()}
        assert final == last
        retried = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retrying PUT")]
        assert len(retried) >= 8, retried  # the faults hit the updates, and the SDK retried them
        assert any("RemoteProtocolError" in m or "ReadError" in m for m in retried)  # dropped
        assert any(m.endswith("after 500") for m in retried)


@pytest.mark.slow
def test_load_of_16_clients_keeps_exactly_what_was_acknowledged() -> None:
    with MockServer() as mock:
        expected: dict[int, str] = {}
        lock = threading.Lock()
        failures: list[BaseException] = []
        deadline = time.monotonic() + 4.0

        def client(n: int) -> None:
            rng = random.Random(n)
            mine: list[int] = []
            try:
                with threedcart.Store(**store_kwargs(mock, max_retries=0)) as store:  # type: ignore[arg-type]
                    while time.monotonic() < deadline:
                        op = rng.random()
                        if op < 0.4 or not mine:
                            cid = store.customers.create({"Email": f"c{n}@example.com", "Comments": "v0"})
                            mine.append(cid)
                            with lock:
                                expected[cid] = "v0"
                        elif op < 0.7:
                            cid = rng.choice(mine)
                            value = f"v{rng.randint(1, 10**6)}"
                            store.customers.update(cid, {"Comments": value})
                            with lock:
                                expected[cid] = value
                        elif op < 0.8:
                            cid = mine.pop(rng.randrange(len(mine)))
                            store.customers.delete(cid)
                            with lock:
                                del expected[cid]
                        else:
                            store.customers.list(limit=50, offset=rng.randint(1, 20))
            except BaseException as exc:  # any 5xx or transport error fails the test
                failures.append(exc)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not failures, failures[:3]
        with threedcart.Store(**store_kwargs(mock)) as store:  # type: ignore[arg-type]
            actual = {c.customer_id: c.comments for c in store.customers.iter(concurrency=4)}
        assert len(expected) > 50
        assert actual == expected


def test_sigkill_during_writes_keeps_every_acknowledged_write(tmp_path: Path) -> None:
    db = str(tmp_path / "store.sqlite")
    acknowledged: dict[int, str] = {}
    stop = threading.Event()
    mock = MockServer(["--db", db]).start()

    def writer(n: int) -> None:
        with http(mock) as client:
            i = 0
            while not stop.is_set():
                email = f"w{n}-{i}@example.com"
                try:
                    r = client.post("/Customers", json={"Email": email, "Password": ""})
                except httpx.HTTPError:
                    return  # the server died: this write was not acknowledged
                if r.status_code == 201:
                    acknowledged[int(r.json()[0]["Value"])] = email
                i += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    assert mock.stop(signal.SIGKILL) == -signal.SIGKILL
    stop.set()
    for t in threads:
        t.join()
    assert len(acknowledged) > 20
    with MockServer(["--db", db]) as restarted, http(restarted) as client:
        stored = {}
        offset = 1
        while (r := client.get("/Customers", params={"limit": 500, "offset": offset})).status_code == 200:
            stored.update({c["CustomerID"]: c["Email"] for c in r.json()})
            offset += 500
    missing = {cid: e for cid, e in acknowledged.items() if stored.get(cid) != e}
    assert not missing


def _snapshot(client: httpx.Client) -> list[object]:
    return client.get("/Customers", params={"limit": 500}).json()  # type: ignore[no-any-return]


HOSTILE_BODIES: list[tuple[str, bytes, dict[str, str]]] = [
    ("malformed JSON", b'{"Email": "a@b.c", }', {}),
    ("truncated JSON", b'{"Email": "a@b', {}),
    ("invalid UTF-8", b'{"Email": "\xc3\x28@example.com", "Password": ""}', {}),
    ("deeply nested", b'{"Email": ' + b"[" * 50000 + b"]" * 50000 + b"}", {}),
    ("10 MB body", b'{"Email": "' + b"a" * (10 * 1024 * 1024) + b'", "Password": ""}', {}),
    ("not JSON at all", b"\x00\x01\x02\xff", {}),
    ("form content type", b"Email=a%40b.c&Password=", {"Content-Type": "application/x-www-form-urlencoded"}),
    ("xml content type", b"<Customer/>", {"Content-Type": "application/xml"}),
    ("no content type", b'{"Email": "a@b.c", "Password": ""}', {"Content-Type": ""}),
]


@pytest.mark.parametrize(("name", "body", "headers"), HOSTILE_BODIES, ids=[h[0] for h in HOSTILE_BODIES])
def test_hostile_bodies_get_a_4xx_and_change_nothing(
    seeded_mock: MockServer, name: str, body: bytes, headers: dict[str, str]
) -> None:
    with http(seeded_mock) as client:
        before = _snapshot(client)
        sent_headers = {"Content-Type": "application/json", **headers}
        sent_headers = {k: v for k, v in sent_headers.items() if v}
        for method, path in (("POST", "/Customers"), ("PUT", "/Customers"), ("PUT", "/Customers/1")):
            r = client.request(method, path, content=body, headers=sent_headers)
            assert 400 <= r.status_code < 500, (name, method, path, r.status_code)
            error = r.json()
            assert error[0]["Key"] == "Error" and error[0]["Message"]
        assert _snapshot(client) == before
        assert client.get("/Customers/1").status_code == 200  # still serving


@pytest.mark.parametrize(
    "params",
    [
        {"email": "' OR '1'='1"},
        {"state": "FL'; DROP TABLE customers; --"},
        {"city": '" OR 1=1 --'},
        {"lastname": "%"},
        {"phone": "_"},
        {"limit": "99999999999999999999"},
        {"limit": "-5"},
        {"offset": "-1"},
        {"offset": "1e400"},
        {"countonly": "2"},
        {"lastupdatestart": "01/01/2026 00:00:00' OR '1'='1"},
    ],
)
def test_hostile_queries(seeded_mock: MockServer, params: dict[str, str]) -> None:
    with http(seeded_mock) as client:
        r = client.get("/Customers", params=params)
        assert r.status_code in (400, 404), r.text
        assert r.json()[0]["Key"] == "Error"
        assert client.get("/Customers", params={"countonly": 1}).json() == {"TotalCount": 1234}


def test_credentials_missing_partial_or_of_another_store() -> None:
    a = ("https://a.3dcartstores.com", "key-a", "token-a")
    b = ("https://b.3dcartstores.com", "key-b", "token-b")
    with MockServer(["--store", ",".join(a), "--store", ",".join(b), "--seed-customers", "5"]) as mock:
        base = mock.url + API
        attempts = [
            {},
            {"SecureURL": a[0]},
            {"SecureURL": a[0], "PrivateKey": a[1]},
            {"SecureURL": a[0], "PrivateKey": a[1], "Token": ""},
            {"SecureURL": a[0], "PrivateKey": b[1], "Token": b[2]},  # b's keys on a's store
            {"SecureURL": "https://c.3dcartstores.com", "PrivateKey": a[1], "Token": a[2]},
        ]
        for headers in attempts:
            for method, path, body in (
                ("GET", "/Customers", None),
                ("GET", "/Customers/1", None),
                ("DELETE", "/Customers/1", None),
                ("PUT", "/Customers/1", {"Comments": "pwned"}),
                ("POST", "/Customers", {"Email": "x@example.com", "Password": ""}),
            ):
                r = httpx.request(method, base + path, headers=headers, json=body)
                assert r.status_code == 401, (headers, method, path)
                assert r.json()[0]["Status"] == "401"
        with httpx.Client(
            base_url=base, headers=dict(zip(("SecureURL", "PrivateKey", "Token"), a, strict=True))
        ) as ca:
            assert ca.get("/Customers", params={"countonly": 1}).json() == {"TotalCount": 5}
            assert ca.get("/Customers/1").json()[0]["Comments"] == ""


def test_cli_session_with_debug_logging_shows_no_secret(tmp_path: Path) -> None:
    secret_key, secret_token = "cli-pk-4e1f9a-SECRET", "cli-tok-8c2b7d-SECRET"
    store_arg = f"https://cli.3dcartstores.com,{secret_key},{secret_token}"
    with MockServer(["--store", store_arg, "--seed-customers", "600", "--fault-rate", "0.2"]) as mock:
        env = {
            **os.environ,
            "THREEDCART_SECURE_URL": "https://cli.3dcartstores.com",
            "THREEDCART_PRIVATE_KEY": secret_key,
            "THREEDCART_TOKEN": secret_token,
            "THREEDCART_BASE_URL": mock.url,
        }
        cli = str(Path(sys.executable).parent / "threedcart")
        changes = tmp_path / "c.jsonl"
        changes.write_text(json.dumps({"CustomerID": 1, "Comments": "x"}) + "\n" + '{"CustomerID": 99999}\n')
        commands = [
            ["customers", "count"],
            ["customers", "list", "--limit", "3", "--format", "json"],
            ["customers", "get", "2"],
            ["customers", "get", "999999"],
            ["customers", "export", "--output", str(tmp_path / "all.jsonl")],
            ["customers", "import", str(changes)],
            ["customers", "sync", "--state", str(tmp_path / "state.json")],
        ]
        transcript = ""
        for command in commands:
            r = subprocess.run(
                [cli, "--verbose", "--max-retries", "10", *command], env=env, capture_output=True, text=True
            )
            transcript += r.stdout + r.stderr
        wrong = subprocess.run(
            [cli, "-v", "customers", "count"],
            env={**env, "THREEDCART_TOKEN": secret_token + "x"},
            capture_output=True,
            text=True,
        )
        transcript += wrong.stdout + wrong.stderr
    assert f"DEBUG threedcart: GET {API}/Customers" in transcript  # debug logging was on
    assert "AuthenticationError" in transcript
    assert secret_key not in transcript and secret_token not in transcript
