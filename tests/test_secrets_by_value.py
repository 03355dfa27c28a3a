"""The credentials are removed by value wherever a server echoes them: from every exception
(message, args, response, request, the whole `__cause__`/`__context__` chain, the traceback's
text), every pickle, every log line at DEBUG, and the CLI's stderr. The CLI reads them from the
environment or a file and warns when they are given on the command line."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import pickle
import random
import socket
import string
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import threedcart
from test_hostile_server import HostileServer, Seen, answer
from threedcart import _secrets, errors

CLI = str(Path(sys.executable).with_name("threedcart"))
SECURE_URL = "https://echo.3dcartstores.com"
# a slash and a plus: they are escaped differently by JSON encoders and URL quoting
KEY = "pk-7Fa9/c1e+PRIVATE-4711"
TOKEN = "tk-5b2D8e4f-TOKEN-0815"
SECRETS = (KEY, TOKEN)


def spellings(secret: str) -> list[str]:
    """How a server or a library might print a secret (compared in lower case)."""
    forms = {secret, quote(secret, safe=""), secret.replace("/", "\\/"), json.dumps(secret)[1:-1]}
    return sorted(form.lower() for form in forms)


def assert_no_secret(text: str, where: str = "") -> None:
    lowered = text.lower()
    for secret in SECRETS:
        for form in spellings(secret):
            assert form not in lowered, f"{form!r} in {where}: {text[:2000]}"


def echo_401(sock: socket.socket, n: int, seen: Seen) -> None:
    """A 401 that repeats the credentials it was sent everywhere it can: reason phrase, headers
    (as sent, upper-cased, percent-encoded, and a header named Token) and the JSON body."""
    key, token = seen.headers["privatekey"], seen.headers["token"]
    message = f"token {token} with key {key} refused"
    fields = {"Key": "Error", "Value": token, "Status": "401", "Message": message, "Escaped": "ESCAPED"}
    # "/" escaped as "\/", as some JSON encoders (PHP's) write it
    body = json.dumps([fields]).replace("ESCAPED", key.replace("/", "\\/")).encode()
    headers = {
        "X-Echo-Token": token,
        "X-Echo-Key": key.upper(),
        "X-Echo-Quoted": quote(key, safe=""),
        "Token": token,
        "WWW-Authenticate": f"Token {token}",
    }
    answer(sock, 401, body, headers, reason=f"Bad token {token}")


def broken_status_line(sock: socket.socket, n: int, seen: Seen) -> None:
    """A status line h11 refuses, quoting it (and so the echoed token) in its error message."""
    sock.sendall(f"HTTP/1.1 4O1 {seen.headers['token']}\r\n\r\n".encode())


def kwargs(url: str, **options: object) -> dict[str, object]:
    return {
        "secure_url": SECURE_URL,
        "private_key": KEY,
        "token": TOKEN,
        "base_url": url,
        "max_retries": 0,
        "timeout": 2.0,
        **options,
    }


def failures(url: str, call: Callable[[object], object], **options: object) -> list[BaseException]:
    """What `call(store.customers)` raises with a Store and with an AsyncStore."""
    raised: list[BaseException] = []
    with threedcart.Store(**kwargs(url, **options)) as store:  # type: ignore[arg-type]
        with pytest.raises(errors.ThreeDCartError) as info:
            call(store.customers)
        raised.append(info.value)

    async def scenario() -> None:
        async with threedcart.AsyncStore(**kwargs(url, **options)) as astore:  # type: ignore[arg-type]
            await call(astore.customers)  # type: ignore[misc]

    with pytest.raises(errors.ThreeDCartError) as ainfo:
        asyncio.run(scenario())
    raised.append(ainfo.value)
    return raised


def chain(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        link = todo.pop()
        if link is None or any(link is f for f in found):
            continue
        found.append(link)
        todo += [link.__cause__, link.__context__]
    return found


def everything(exc: BaseException) -> str:
    """Every text reachable from an exception: the traceback, then each link of its chain
    (str, repr, args, attributes, request and response), then its pickle."""
    parts = ["".join(traceback.format_exception(exc))]
    for link in chain(exc):
        parts += [str(link), repr(link), repr(link.args), repr(vars(link))]
        for name in ("request", "response"):
            try:
                value = getattr(link, name, None)
            except RuntimeError:  # an httpx error raised without a request
                value = None
            if isinstance(value, httpx.Response):
                parts += [repr(value.headers.multi_items()), value.text, value.reason_phrase]
                value = value.request
            if isinstance(value, httpx.Request):
                parts += [str(value.url), repr(value.headers.multi_items())]
    data = pickle.dumps(exc)
    parts.append(data.decode("latin-1"))
    again = pickle.loads(data)
    parts += [str(again), repr(vars(again))]
    return "\n".join(parts)


@pytest.fixture(autouse=True)
def _no_proxy_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    yield


# --- the scrubber --------------------------------------------------------------------------------
def test_the_scrubber_finds_every_spelling_and_ignores_what_is_too_short() -> None:
    _secrets.register([KEY, TOKEN, "abc", None, ""])
    text = (
        f"{KEY} {KEY.upper()} {quote(KEY, safe='')} {quote(KEY, safe='').lower()} "
        f"{KEY.replace('/', chr(92) + '/')} {TOKEN!r} b'{TOKEN}'"
    )
    clean = _secrets.scrub(text)
    assert_no_secret(clean, "scrub()")
    assert clean.count("[redacted]") == 7
    assert _secrets.scrub_bytes(f"x{TOKEN.lower()}y".encode()) == b"x[redacted]y"
    assert _secrets.scrub("abc and abcd stay") == "abc and abcd stay"  # 3 characters: not a secret


def test_a_scrubber_of_many_stores_finds_what_one_of_few_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(18)
    alphabet = string.ascii_letters + string.digits + "-_/+."
    values = ["".join(rng.choices(alphabet, k=rng.randint(4, 40))) for _ in range(_secrets.REGEX_LIMIT)]
    values += ["pässwört-ü", "abcd", "abcdef"]  # not ASCII; one the prefix of another
    many = _secrets.Scrubber()
    many.register(values)
    forms = many._forms
    index = _secrets._Matcher(forms)  # past REGEX_LIMIT: the lookup by first characters
    monkeypatch.setattr(_secrets, "REGEX_LIMIT", 10**6)
    regex = _secrets._Matcher(forms)
    assert index._regex is None and regex._regex is not None
    for value in values:
        other = rng.choice(values)
        text = f"<{value}> {value.upper()} {quote(value, safe='')}{other[: rng.randint(0, len(other))]}x"
        assert index.sub(text) == regex.sub(text)
        assert value not in many.scrub(text)
        assert value.upper() not in many.scrub(text) or not value.isascii()  # ASCII letters in any case
        assert value.encode() not in many.scrub_bytes(text.encode())
    assert many.scrub("abcdefg") == "[redacted]g" and many.scrub("ABCDx") == "[redacted]x"
    assert many.scrub("none here") == "none here" and many.scrub_bytes(b"\xff\xfe abc") == b"\xff\xfe abc"


# --- exceptions --------------------------------------------------------------------------------
def test_a_401_that_echoes_the_credentials_shows_them_nowhere() -> None:
    with HostileServer(echo_401) as server:
        raised = failures(server.url, lambda c: c.get(1))  # type: ignore[attr-defined]
        raised += failures(server.url, lambda c: c.count())  # type: ignore[attr-defined]
    assert TOKEN in server.seen[0].headers["token"]  # the server did get (and echo) them
    for exc in raised:
        assert type(exc) is errors.AuthenticationError, exc
        assert exc.message == "token [redacted] with key [redacted] refused"
        assert str(exc) == "401 token [redacted] with key [redacted] refused"
        assert exc.response.headers["X-Echo-Token"] == exc.response.headers["Token"] == "[redacted]"
        assert exc.response.reason_phrase == "Bad token [redacted]"
        assert exc.response.json()[0]["Value"] == "[redacted]"  # the body stays JSON
        assert_no_secret(everything(exc), f"{exc!r}")
        again = pickle.loads(pickle.dumps(exc))
        assert type(again) is errors.AuthenticationError and again.message == exc.message


def test_a_refused_connection_keeps_a_scrubbed_cause_without_httpx_frames() -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for exc in failures(f"http://127.0.0.1:{port}", lambda c: c.get(1)):  # type: ignore[attr-defined]
        assert type(exc) is errors.APIConnectionError, exc
        cause = exc.__cause__
        assert isinstance(cause, httpx.ConnectError)
        assert cause.request.headers["PrivateKey"] == cause.request.headers["Token"] == "[redacted]"
        assert exc.request is not None and exc.request.headers["Token"] == "[redacted]"
        for link in chain(exc)[1:]:
            assert link.__traceback__ is None, link  # its frames held the headers as sent
        assert_no_secret(everything(exc), f"{exc!r}")


def test_a_transport_error_that_quotes_the_echoed_token_is_scrubbed() -> None:
    with HostileServer(broken_status_line) as server:
        raised = failures(server.url, lambda c: c.get(1))  # type: ignore[attr-defined]
    for exc in raised:
        assert type(exc) is errors.APIConnectionError
        assert "illegal status line" in str(exc) and "[redacted]" in str(exc)
        assert isinstance(exc.__cause__, httpx.RemoteProtocolError) and "[redacted]" in str(exc.__cause__)
        assert_no_secret(everything(exc), f"{exc!r}")


def test_a_proxy_password_is_a_secret_too() -> None:
    password = "pr0xy-Pass-9931"

    def echo_proxy(sock: socket.socket, n: int, seen: Seen) -> None:
        body = json.dumps([{"Message": f"auth {seen.headers.get('proxy-authorization')} / {password}"}])
        answer(sock, 407, body.encode(), {"X-Echo": seen.headers.get("proxy-authorization", "")})

    with HostileServer(echo_proxy) as proxy:
        target = "http://127.0.0.3:9"  # only the proxy answers
        url = f"http://user:{password}@127.0.0.1:{proxy.url.rsplit(':', 1)[1]}"
        with threedcart.Store(**kwargs(target, proxy=url, trust_env=False)) as store:  # type: ignore[arg-type]
            with pytest.raises(errors.APIError) as info:
                store.customers.get(1)
    assert proxy.seen[0].headers["proxy-authorization"].startswith("Basic ")  # it was sent, and echoed
    text = everything(info.value)
    assert info.value.status_code == 407 and "[redacted]" in info.value.message
    assert password not in text and proxy.seen[0].headers["proxy-authorization"][6:] not in text


def test_bulk_failures_never_carry_an_echoed_secret() -> None:
    def partly(sock: socket.socket, n: int, seen: Seen) -> None:
        results = [
            {"Key": "CustomerID", "Value": "1", "Status": "200", "Message": "updated successfully"},
            {
                "Key": "CustomerID",
                "Value": "2",
                "Status": "404",
                "Message": f"no 2 for {seen.headers['token']}",
            },
        ]
        answer(sock, 206, json.dumps(results).encode())

    items = [{"CustomerID": 1, "Comments": "a"}, {"CustomerID": 2, "Comments": "b"}]
    with HostileServer(partly) as server:
        with threedcart.Store(**kwargs(server.url)) as store:  # type: ignore[arg-type]
            result = store.customers.update_many(items)

        async def scenario() -> threedcart.BulkResult:
            async with threedcart.AsyncStore(**kwargs(server.url)) as astore:  # type: ignore[arg-type]
                return await astore.customers.update_many(items)

        aresult = asyncio.run(scenario())
    for outcome in (result, aresult):
        assert outcome.updated == [1] and [f.message for f in outcome.failed] == ["no 2 for [redacted]"]
        assert_no_secret(repr(outcome) + pickle.dumps(outcome).decode("latin-1"), "a BulkResult")


# --- logging -----------------------------------------------------------------------------------
def test_debug_logs_of_the_sdk_httpx_and_httpcore_never_show_an_echoed_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpcore's header dumps included
    with HostileServer(echo_401) as server:
        failures(server.url, lambda c: c.get(1), max_retries=0)  # type: ignore[attr-defined]
    with HostileServer(broken_status_line) as server:
        raised = failures(server.url, lambda c: c.get(1))  # type: ignore[attr-defined]
    logging.getLogger("threedcart").error("what the user logs: %s", TOKEN, exc_info=raised[0])
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    lines = [formatter.format(record) for record in caplog.records]
    names = {record.name for record in caplog.records}
    assert {"threedcart", "httpx", "httpcore.http11", "httpcore.connection"} <= names
    # httpcore dumps the response headers at DEBUG: the echo was there, and was scrubbed
    assert any("X-Echo-Token" in line and "[redacted]" in line for line in lines)
    assert any("Bad token [redacted]" in line for line in lines if line.startswith("httpx "))
    assert_no_secret("\n".join(lines), "the log")


# --- the CLI -----------------------------------------------------------------------------------
def cli(
    url: str, *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("THREEDCART_")}
    base.update(THREEDCART_SECURE_URL=SECURE_URL, THREEDCART_BASE_URL=url, THREEDCART_TIMEOUT="5")
    return subprocess.run(
        [CLI, "--max-retries", "0", *args],
        env={**base, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


SECRET_ENV = {"THREEDCART_PRIVATE_KEY": KEY, "THREEDCART_TOKEN": TOKEN}
AUTH_ERROR = "error: AuthenticationError: 401 token [redacted] with key [redacted] refused\n"


def test_cli_errors_and_verbose_logs_never_show_an_echoed_secret() -> None:
    with HostileServer(echo_401) as server:
        plain = cli(server.url, "customers", "get", "1", env=SECRET_ENV)
        verbose = cli(server.url, "-v", "customers", "count", env=SECRET_ENV)
    assert (plain.returncode, plain.stderr) == (1, AUTH_ERROR)
    assert verbose.returncode == 1 and "Bad token [redacted]" in verbose.stderr
    assert_no_secret(plain.stdout + plain.stderr + verbose.stdout + verbose.stderr, "the CLI's output")
    with HostileServer(broken_status_line) as server:
        broken = cli(server.url, "customers", "get", "1", env=SECRET_ENV)
    assert broken.returncode == 1 and broken.stderr.startswith("error: APIConnectionError: ")
    assert "Traceback" not in broken.stderr
    assert_no_secret(broken.stderr, "the CLI's stderr")


def test_cli_reads_the_credentials_from_files_and_standard_input(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    with HostileServer(echo_401) as server:
        from_files = cli(
            server.url,
            "--private-key-file",
            "-",
            "--token-file",
            str(token_file),
            "customers",
            "get",
            "1",
            stdin=KEY + "\n",
        )
    assert (from_files.returncode, from_files.stderr) == (1, AUTH_ERROR)  # no warning: nothing on argv
    assert server.seen[0].headers["privatekey"] == KEY and server.seen[0].headers["token"] == TOKEN


def test_cli_warns_when_a_credential_is_on_the_command_line() -> None:
    with HostileServer(echo_401) as server:
        result = cli(server.url, "--private-key", KEY, "--token", TOKEN, "customers", "get", "1")
    lines = result.stderr.splitlines()
    assert result.returncode == 1 and len(lines) == 3, result.stderr
    assert lines[0].startswith("warning: --private-key on the command line can be read by every user")
    assert "THREEDCART_PRIVATE_KEY or --private-key-file" in lines[0]
    assert lines[1].startswith("warning: --token on the command line") and "--token-file" in lines[1]
    assert lines[2] + "\n" == AUTH_ERROR
    assert_no_secret(result.stderr, "the CLI's stderr")


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--token-file", "{missing}"], None, "error: --token-file: cannot read {missing} (No such file"),
        (["--token-file", "{empty}"], None, "error: --token-file: {empty} holds no credential"),
        (["--token-file", "-", "--private-key-file", "-"], f"{KEY}\n{TOKEN}\n", "error: only one of"),
        (
            ["--token", TOKEN, "--token-file", "{empty}"],
            None,
            "error: give --token or --token-file, not both",
        ),
        (["--token-file", "-"], "tab\tinside\n", "error: --token-file standard input contains a control"),
    ],
)
def test_cli_credential_files_fail_in_one_line_naming_the_option(
    tmp_path: Path, args: list[str], stdin: str | None, message: str
) -> None:
    paths = {"missing": str(tmp_path / "missing"), "empty": str(tmp_path / "empty")}
    (tmp_path / "empty").write_text("\n")
    args = [a.format(**paths) for a in args]
    result = cli(
        "http://127.0.0.1:9", *args, "customers", "count", env={"THREEDCART_PRIVATE_KEY": KEY}, stdin=stdin
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[-1].startswith(message.format(**paths)), result.stderr
    assert_no_secret(result.stderr, "the CLI's stderr")
