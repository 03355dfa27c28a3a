"""Filters into query parameters (`_params`), and the exceptions (`errors`): exact values and messages.

Pure functions, no server: these run once per mutant under `make mutation`.
"""

from __future__ import annotations

import gzip
import itertools
import pickle
import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
import pytest
from conftest import SPEC
from threedcart import errors
from threedcart._params import FILTER_NAMES, query_params, store_time

EASTERN = ZoneInfo("America/New_York")


def _list_query_parameters() -> set[str]:
    """The query parameters of listCustomers, from the spec."""
    for item in SPEC["paths"].values():
        operation = item.get("get", {})
        if operation.get("operationId") == "listCustomers":
            names = set()
            for parameter in operation["parameters"]:
                if "$ref" in parameter:
                    parameter = SPEC["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
                if parameter["in"] == "query":
                    names.add(parameter["name"])
            return names
    raise AssertionError("listCustomers is not in the spec")


# --- store_time ----------------------------------------------------------------------------
def test_a_naive_datetime_is_store_time_and_end_of_day_does_not_move_it() -> None:
    assert store_time(datetime(2026, 3, 1, 9, 5, 7), EASTERN) == "03/01/2026 09:05:07"
    assert store_time(datetime(2026, 3, 1, 9, 5, 7), EASTERN, end_of_day=True) == "03/01/2026 09:05:07"


def test_an_aware_datetime_is_converted_to_the_store_zone() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert store_time(datetime(2026, 1, 15, 12, 0, 0, tzinfo=plus_two), EASTERN) == "01/15/2026 05:00:00"
    assert store_time(datetime(2026, 7, 15, 12, 0, 0, tzinfo=UTC), EASTERN) == "07/15/2026 08:00:00"


def test_a_date_is_its_first_second_or_its_last() -> None:
    assert store_time(date(2026, 2, 28), EASTERN) == "02/28/2026 00:00:00"
    assert store_time(date(2026, 2, 28), EASTERN, end_of_day=True) == "02/28/2026 23:59:59"


@pytest.mark.parametrize(
    ("text", "end_of_day", "expected"),
    [
        ("2026-02-28", False, "02/28/2026 00:00:00"),
        ("2026-02-28", True, "02/28/2026 23:59:59"),
        # a time in the string is kept, even midnight or an hour alone, even with end_of_day
        ("2026-02-28 00:00", True, "02/28/2026 00:00:00"),
        ("2026-02-28 23:59:59", False, "02/28/2026 23:59:59"),
        ("2026-02-28 10 AM", False, "02/28/2026 10:00:00"),
        ("2026-02-28 10 AM", True, "02/28/2026 10:00:00"),
        ("2026-02-28T10:30:00-05:00", False, "02/28/2026 10:30:00"),
        ("2026-02-28T15:30:00Z", True, "02/28/2026 10:30:00"),
    ],
)
def test_strings_are_read_with_or_without_a_time(text: str, end_of_day: bool, expected: str) -> None:
    assert store_time(text, EASTERN, end_of_day=end_of_day) == expected


def test_unreadable_strings_name_the_argument_and_the_value() -> None:
    with pytest.raises(ValueError, match=r"^updated_since: cannot read 'yesterday-ish' as a date \(.+\)$"):
        store_time("yesterday-ish", EASTERN, name="updated_since")
    with pytest.raises(ValueError, match=r"^date: cannot read '99999999999999999999' as a date \(.+\)$"):
        store_time("99999999999999999999", EASTERN)  # dateutil overflows


def test_other_types_are_refused_by_name() -> None:
    with pytest.raises(TypeError, match=r"^updated_until must be a datetime, a date or a string, not int$"):
        store_time(20260131, EASTERN, name="updated_until")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^date must be a datetime, a date or a string, not NoneType$"):
        store_time(None, EASTERN)  # type: ignore[arg-type]


# --- query_params ---------------------------------------------------------------------------
def test_every_text_filter_becomes_its_query_parameter_from_the_spec() -> None:
    spec_params = _list_query_parameters()
    text_filters = sorted(FILTER_NAMES - {"group_id", "updated_since", "updated_until"})
    assert len(text_filters) == 7
    for name in text_filters:
        group, params = query_params({name: f"value of {name}"}, EASTERN)
        assert group is None
        # the API's name is the Python name without underscores (first_name -> firstname)
        assert params == {name.replace("_", ""): f"value of {name}"}
        assert name.replace("_", "") in spec_params


def test_all_filters_at_once() -> None:
    spec_params = _list_query_parameters()
    filters: dict[str, Any] = {
        "email": "a@example.com",
        "first_name": "Ann",
        "last_name": "Lee",
        "country": "US",
        "state": "FL",
        "city": "Tampa",
        "phone": "555",
        "group_id": 0,
        "updated_since": date(2026, 1, 1),
        "updated_until": date(2026, 1, 31),
    }
    group, params = query_params(filters, EASTERN)
    assert group == 0
    assert params == {
        "email": "a@example.com",
        "firstname": "Ann",
        "lastname": "Lee",
        "country": "US",
        "state": "FL",
        "city": "Tampa",
        "phone": "555",
        "lastupdatestart": "01/01/2026 00:00:00",
        "lastupdateend": "01/31/2026 23:59:59",
    }
    assert set(params) <= spec_params


def test_none_means_no_filter() -> None:
    filters = dict.fromkeys(FILTER_NAMES)
    assert query_params(filters, EASTERN) == (None, {})
    assert query_params({}, EASTERN) == (None, {})


def test_empty_text_is_sent_as_is() -> None:
    assert query_params({"city": ""}, EASTERN) == (None, {"city": ""})


def test_dates_go_to_the_store_zone_and_name_the_filter() -> None:
    since = datetime(2026, 6, 1, 16, 0, tzinfo=UTC)
    until = datetime(2026, 6, 2, 3, 59, 59, tzinfo=UTC)  # an aware `until` keeps its time
    _, params = query_params({"updated_since": since, "updated_until": until}, EASTERN)
    assert params == {"lastupdatestart": "06/01/2026 12:00:00", "lastupdateend": "06/01/2026 23:59:59"}
    _, params = query_params({"updated_until": "2026-06-01"}, EASTERN)
    assert params == {"lastupdateend": "06/01/2026 23:59:59"}
    with pytest.raises(ValueError, match=r"^updated_since: cannot read 'soon'"):
        query_params({"updated_since": "soon"}, EASTERN)
    with pytest.raises(ValueError, match=r"^updated_until: cannot read 'later'"):
        query_params({"updated_until": "later"}, EASTERN)
    with pytest.raises(TypeError, match=r"^updated_until must be a datetime, a date or a string, not float$"):
        query_params({"updated_until": 1.5}, EASTERN)


def test_unknown_filters_are_named_with_the_known_ones() -> None:
    known = ", ".join(sorted(FILTER_NAMES))
    with pytest.raises(TypeError) as caught:
        query_params({"xtest_zip": "33602", "emial": "x", "email": "a@b.c"}, EASTERN)
    assert str(caught.value) == f"unknown filter(s) emial, xtest_zip; the filters are {known}"


def _text_filters() -> list[str]:
    """The SDK names of the list filters that compare a string exactly, from the spec."""
    names = []
    for parameter in SPEC["components"]["parameters"].values():
        rule = parameter.get("x-threedcart-filter")
        if rule and rule["match"] == "equals" and parameter["schema"].get("type") == "string":
            names.append(rule.get("sdk-name", parameter["name"]))
    return names


@pytest.mark.parametrize("name", _text_filters())
def test_text_filters_must_be_strings(name: str) -> None:
    with pytest.raises(TypeError) as caught:
        query_params({name: 42}, EASTERN)
    assert str(caught.value) == f"{name} must be a string, not int"


@pytest.mark.parametrize("group_id", [0, 1, 2**31 - 1])
def test_group_id_is_returned_apart(group_id: int) -> None:
    assert query_params({"group_id": group_id, "city": "Tampa"}, EASTERN) == (group_id, {"city": "Tampa"})


@pytest.mark.parametrize("bad", [-1, True, False, "3", 2.0])
def test_group_id_must_be_a_non_negative_integer(bad: object) -> None:
    with pytest.raises(ValueError) as caught:
        query_params({"group_id": bad}, EASTERN)
    assert str(caught.value) == f"group_id must be a non-negative integer, not {bad!r}"


# --- errors -------------------------------------------------------------------------------------
SECRETS = {"PrivateKey": "pk-secret", "Token": "tok-secret", "Authorization": "Bearer x", "Cookie": "c=1"}


def _request(**extra: str) -> httpx.Request:
    headers = {"SecureURL": "https://shop.example.com", **SECRETS, "Accept": "application/json", **extra}
    return httpx.Request(
        "PUT",
        "https://apirest.3dcart.com/3dCartWebAPI/v1/Customers/7?x=1",
        headers=headers,
        json={"Email": "e"},
    )


def test_redact_request_replaces_every_credential_header_and_keeps_the_rest() -> None:
    request = _request(**{"proxy-authorization": "Basic y", "X-Other": "kept"})
    copy = errors.redact_request(request)
    assert copy.method == "PUT"
    assert copy.url == request.url
    for name in ("PrivateKey", "Token", "Authorization", "Cookie", "Proxy-Authorization"):
        assert copy.headers[name] == "[redacted]"
    assert copy.headers["SecureURL"] == "https://shop.example.com"
    assert copy.headers["X-Other"] == "kept"
    assert copy.headers["Accept"] == "application/json"
    assert copy.content == b""  # no body
    assert "secret" not in repr(copy.headers)
    # the original is untouched
    assert request.headers["PrivateKey"] == "pk-secret"


def test_an_api_error_carries_status_message_and_a_redacted_response() -> None:
    response = httpx.Response(
        404,
        headers={"Content-Type": "application/json", "X-Trace": "t1"},
        content=b'[{"Key":"NotFound","Message":"No customer"}]',
        request=_request(),
        extensions={"http_version": b"HTTP/1.1", "reason_phrase": b"Not Found", "network_stream": object()},
    )
    error = errors.NotFoundError("No customer", response=response)
    assert (error.status_code, error.message) == (404, "No customer")
    assert str(error) == "404 No customer"
    assert repr(error) == "NotFoundError(status_code=404, message='No customer')"
    assert error.response.status_code == 404
    assert error.response.content == b'[{"Key":"NotFound","Message":"No customer"}]'
    assert error.response.headers["X-Trace"] == "t1"
    assert error.response.request.headers["PrivateKey"] == "[redacted]"
    assert error.response.request.headers["Token"] == "[redacted]"
    assert error.response.request.url == response.request.url
    assert set(error.response.extensions) == {"http_version", "reason_phrase"}
    assert error.response.reason_phrase == "Not Found"
    assert error.response.http_version == "HTTP/1.1"


def test_the_redacted_response_drops_the_framing_headers_of_the_original() -> None:
    # the copy holds the decoded body, so the original's encoding and lengths no longer describe it
    response = httpx.Response(
        500,
        headers=[
            ("Content-Encoding", "gzip"),
            ("Transfer-Encoding", "chunked"),
            ("Content-Length", "999"),
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
        ],
        content=gzip.compress(b"oops"),
        request=_request(),
    )
    assert response.content == b"oops"
    error = errors.ServerError("oops", response=response)
    headers = error.response.headers
    assert "content-encoding" not in headers
    assert "transfer-encoding" not in headers
    assert headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert error.response.content == b"oops"
    assert headers["content-length"] == "4"  # httpx sets it for the copy's own body


def test_an_error_from_a_response_without_request_or_body() -> None:
    unread = httpx.Response(503, stream=httpx.ByteStream(b"never read"))
    error = errors.ServerError("Service Unavailable", response=unread)
    assert error.response.content == b""
    with pytest.raises(RuntimeError):
        _ = error.response.request
    assert str(error) == "503 Service Unavailable"


def test_errors_pickle_with_their_state_and_without_secrets() -> None:
    response = httpx.Response(429, content=b"slow down", request=_request())
    error = errors.RateLimitError("slow down", response=response)
    data = pickle.dumps(error)
    for secret in SECRETS.values():
        assert secret.encode() not in data
    copy = pickle.loads(data)
    assert type(copy) is errors.RateLimitError
    assert (copy.status_code, copy.message, str(copy)) == (429, "slow down", "429 slow down")
    assert copy.response.content == b"slow down"

    connection = errors.APITimeoutError("took too long", request=_request())
    copy2 = pickle.loads(pickle.dumps(connection))
    assert type(copy2) is errors.APITimeoutError
    assert str(copy2) == "took too long"
    assert copy2.request.headers["Token"] == "[redacted]"
    assert b"tok-secret" not in pickle.dumps(connection)

    paging = pickle.loads(pickle.dumps(errors.PaginationError("kept changing")))
    assert type(paging) is errors.PaginationError and str(paging) == "kept changing"


def test_a_connection_error_without_request() -> None:
    error = errors.APIConnectionError("refused")
    assert error.request is None
    assert str(error) == "refused"
    assert isinstance(errors.APITimeoutError("t"), errors.APIConnectionError)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.BadRequestError),
        (401, errors.AuthenticationError),
        (403, errors.APIError),
        (404, errors.NotFoundError),
        (409, errors.APIError),
        (415, errors.UnsupportedMediaTypeError),
        (429, errors.RateLimitError),
        (499, errors.APIError),
        (500, errors.ServerError),
        (502, errors.ServerError),
        (503, errors.ServerError),
        (599, errors.ServerError),
    ],
)
def test_error_class_by_status(status: int, cls: type[errors.APIError]) -> None:
    assert errors.error_class(status) is cls


def test_every_public_error_is_exported_and_documented() -> None:
    public = {name for name in dir(errors) if isinstance(getattr(errors, name), type) and name[0] != "_"}
    exceptions = {n for n in public if issubclass(getattr(errors, n), Exception)}
    assert set(errors.__all__) == exceptions
    for name in errors.__all__:
        assert re.search(rf"\b{name}\b", errors.__doc__ or ""), name


@pytest.mark.parametrize("text", ["Jan 31", "10:30", "2026-02", "15", "March 2026", "2026"])
def test_strings_without_a_whole_date_are_refused(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        store_time(text, EASTERN, name="updated_since")
    assert str(caught.value) == f"updated_since: {text!r} is not a whole date; give the year, month and day"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("31 Jan 2026", "01/31/2026 00:00:00"),
        ("2026-01-31 10 PM", "01/31/2026 22:00:00"),
        ("01/02/2026", "01/02/2026 00:00:00"),  # month first, as the API writes dates
        ("2000-01-01", "01/01/2000 00:00:00"),  # the same as the parser's first default
        ("2001-02-02 23:59:59", "02/02/2001 23:59:59"),  # the same as its second
    ],
)
def test_whole_dates_in_other_spellings(text: str, expected: str) -> None:
    assert store_time(text, EASTERN) == expected


# --- strings do not depend on the day they are read -------------------------------------------
def _read_as_today(monkeypatch: pytest.MonkeyPatch, today: datetime) -> None:
    """Make dateutil take `today` for today (it fills what a string leaves out from today when no
    `default=` is given)."""
    import datetime as datetime_module
    import types

    import dateutil.parser._parser as dateutil_parser

    class Today(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Today:
            return cls.combine(today.date(), today.time())

    frozen = types.ModuleType("datetime")
    frozen.__dict__.update(vars(datetime_module))
    frozen.datetime = Today  # type: ignore[attr-defined]
    monkeypatch.setattr(dateutil_parser, "datetime", frozen)


@pytest.mark.parametrize("today", [datetime(2026, 3, 2, 15, 4, 5), datetime(2001, 2, 2, 8, 0, 0)])
@pytest.mark.parametrize("text", ["Jan 31", "10:30", "2026-02", "15", "March 2026", "2026"])
def test_a_string_without_a_whole_date_is_refused_whatever_today_is(
    monkeypatch: pytest.MonkeyPatch, today: datetime, text: str
) -> None:
    """Without its own defaults the check would depend on the day: on the 2nd of a month dateutil reads
    "2026-02" as February 2nd, and on 2001-02-02 (the second default's date) it completes any string."""
    _read_as_today(monkeypatch, today)
    from dateutil import parser

    assert parser.parse("10:30").date() == today.date()  # dateutil now takes this day for today
    with pytest.raises(ValueError, match=r"is not a whole date; give the year, month and day$"):
        store_time(text, EASTERN, name="updated_since")
    assert store_time("2026-02-28", EASTERN) == "02/28/2026 00:00:00"
    assert store_time("2026-02-28 10 AM", EASTERN, end_of_day=True) == "02/28/2026 10:00:00"


def test_an_unread_answer_is_an_empty_body_while_secrets_are_registered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The scrubber reads the body's length once a secret is registered (as every store registers its
    credentials), so the error's copy of an unread answer must be given bytes, never None."""
    from threedcart import _secrets

    scrubber = _secrets.Scrubber()
    scrubber.register(["a-registered-secret"])
    monkeypatch.setattr(_secrets, "_SCRUBBER", scrubber)
    unread = httpx.Response(503, stream=httpx.ByteStream(b"never read"))
    error = errors.ServerError("Service Unavailable", response=unread)
    assert error.response.content == b""
    assert str(error) == "503 Service Unavailable"


# --- secrets removed by value, and the sealed chain -----------------------------------------------
@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """pk-secret and tok-secret registered, as a store registers its PrivateKey and Token (in a
    scrubber of this test's own, so that no other test sees them)."""
    from threedcart import _secrets

    scrubber = _secrets.Scrubber()
    scrubber.register(["pk-secret", "tok-secret"])
    monkeypatch.setattr(_secrets, "_SCRUBBER", scrubber)


_E = TypeVar("_E", bound=BaseException)


def _raised(exc: _E) -> _E:
    """`exc` with a traceback, as it has once raised (its frames hold the headers as sent)."""
    try:
        raise exc
    except BaseException:  # raised only to be given a traceback
        pass
    assert exc.__traceback__ is not None
    return exc


@pytest.mark.usefixtures("registered")
def test_redact_request_removes_a_registered_secret_from_the_url() -> None:
    request = httpx.Request("GET", "https://apirest.3dcart.com/v1/Customers/pk-secret?token=tok-secret&x=1")
    copy = errors.redact_request(request)
    assert str(copy.url) == "https://apirest.3dcart.com/v1/Customers/[redacted]?token=[redacted]&x=1"
    assert copy.url.params["x"] == "1"
    assert str(request.url).endswith("/pk-secret?token=tok-secret&x=1")  # the original is untouched


def test_the_redacted_response_replaces_credential_headers_by_name() -> None:
    # no secret registered: the names alone decide
    response = httpx.Response(
        401,
        headers=[("PrivateKey", "pk"), ("token", "tk"), ("AUTHORIZATION", "Bearer z"), ("X-Other", "kept")],
        content=b"denied",
    )
    headers = errors.AuthenticationError("denied", response=response).response.headers
    assert headers.get_list("privatekey") == ["[redacted]"]
    assert headers.get_list("token") == ["[redacted]"]
    assert headers.get_list("authorization") == ["[redacted]"]
    assert headers["x-other"] == "kept"


@pytest.mark.usefixtures("registered")
def test_bytes_arguments_stay_bytes_with_the_secrets_removed() -> None:
    error = errors.ThreeDCartError(b"key=pk-secret", "token tok-secret", 7)
    assert error.args == (b"key=[redacted]", "token [redacted]", 7)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is errors.ThreeDCartError
    assert copy.args == (b"key=[redacted]", "token [redacted]", 7)


def test_bytes_arguments_are_kept_when_nothing_is_registered() -> None:
    assert errors.PaginationError(b"raw bytes").args == (b"raw bytes",)


@pytest.mark.usefixtures("registered")
def test_seal_scrubs_an_httpx_error_raised_without_a_request() -> None:
    # httpx errors raised outside a transport (a decoder's, a stream's) have no request: reading it raises
    bare = _raised(httpx.DecodingError("bad body pk-secret"))
    with pytest.raises(RuntimeError):
        _ = bare.request
    error = errors.ThreeDCartError("top")
    error.__cause__ = bare
    assert errors.seal(error) is error
    assert bare.args == ("bad body [redacted]",)
    assert bare.__traceback__ is None


@pytest.mark.usefixtures("registered")
def test_seal_goes_on_past_an_exception_that_refuses_new_args() -> None:
    class Frozen(Exception):
        def __setattr__(self, name: str, value: object) -> None:
            if name == "args":
                raise AttributeError("args are read-only")
            super().__setattr__(name, value)

    frozen = _raised(Frozen("pk-secret"))
    behind = _raised(ValueError("tok-secret"))
    frozen.__cause__ = behind
    error = errors.ThreeDCartError("top")
    error.__cause__ = frozen
    errors.seal(error)
    assert frozen.args == ("pk-secret",)  # it refused: nothing to do there
    assert frozen.__traceback__ is None
    assert behind.args == ("[redacted]",)
    assert behind.__traceback__ is None


@pytest.mark.usefixtures("registered")
def test_seal_scrubs_the_attributes_of_a_foreign_exception() -> None:
    cause = _raised(ValueError("plain"))
    kept = "nothing to hide"
    cause.detail = "said pk-secret"  # type: ignore[attr-defined]
    cause.kept = kept  # type: ignore[attr-defined]
    cause.body = b"token=tok-secret"  # type: ignore[attr-defined]
    cause.sent = _request()  # type: ignore[attr-defined]
    cause.count = 3  # type: ignore[attr-defined]
    error = errors.ThreeDCartError("top")
    error.__cause__ = cause
    errors.seal(error)
    assert cause.args == ("plain",)
    assert cause.detail == "said [redacted]"  # type: ignore[attr-defined]
    assert cause.kept is kept  # type: ignore[attr-defined]
    assert cause.body == b"token=[redacted]"  # type: ignore[attr-defined]
    assert cause.sent.headers["PrivateKey"] == "[redacted]"  # type: ignore[attr-defined]
    assert cause.sent.headers["Accept"] == "application/json"  # type: ignore[attr-defined]
    assert cause.count == 3  # type: ignore[attr-defined]
    assert cause.__traceback__ is None


@pytest.mark.usefixtures("registered")
def test_seal_writes_only_the_attributes_it_changes() -> None:
    # an exception that guards an attribute with nothing secret in it still has the others scrubbed
    class Guarded(Exception):
        def __setattr__(self, name: str, value: object) -> None:
            if name == "guarded":
                raise AttributeError("guarded is read-only")
            super().__setattr__(name, value)

    cause = Guarded("plain")
    vars(cause)["guarded"] = "nothing to hide"  # first in the instance's attributes
    cause.detail = "said pk-secret"
    error = errors.ThreeDCartError("top")
    error.__cause__ = cause
    errors.seal(error)
    assert vars(cause) == {"guarded": "nothing to hide", "detail": "said [redacted]"}


def _chain(length: int, link: str) -> list[BaseException]:
    """`length` exceptions with a secret, each the `link` (__cause__ or __context__) of the one before."""
    chain: list[BaseException] = [_raised(ValueError(f"link {i} pk-secret")) for i in range(length)]
    for before, after in itertools.pairwise(chain):
        setattr(before, link, after)
    return chain


@pytest.mark.usefixtures("registered")
@pytest.mark.parametrize("link", ["__cause__", "__context__"])
def test_seal_scrubs_a_chain_of_sixteen(link: str) -> None:
    chain = _chain(16, link)
    error = errors.ThreeDCartError("top")
    setattr(error, link, chain[0])
    assert errors.seal(error) is error
    assert [c.args for c in chain] == [(f"link {i} [redacted]",) for i in range(16)]
    assert all(c.__traceback__ is None for c in chain)
    assert all(getattr(before, link) is after for before, after in itertools.pairwise(chain))


@pytest.mark.usefixtures("registered")
@pytest.mark.parametrize("link", ["__cause__", "__context__"])
def test_seal_cuts_a_chain_after_sixteen(link: str) -> None:
    chain = _chain(18, link)
    error = errors.ThreeDCartError("top")
    setattr(error, link, chain[0])
    assert errors.seal(error) is error
    assert [c.args for c in chain[:17]] == [(f"link {i} [redacted]",) for i in range(17)]
    assert getattr(chain[15], link) is chain[16]  # the link the cut ends at is scrubbed too
    assert (chain[16].__cause__, chain[16].__context__) == (None, None)  # the rest is cut off


@pytest.mark.usefixtures("registered")
def test_seal_scrubs_both_branches_of_the_chain() -> None:
    cause = _raised(ValueError("cause pk-secret"))
    under_cause = _raised(ValueError("under cause tok-secret"))
    context = _raised(KeyError("context pk-secret"))
    under_context = _raised(OSError("under context pk-secret"))
    cause.__context__ = under_cause
    context.__cause__ = under_context
    error = errors.ThreeDCartError("top")
    error.__cause__, error.__context__ = cause, context
    errors.seal(error)
    assert cause.args == ("cause [redacted]",)
    assert under_cause.args == ("under cause [redacted]",)
    assert context.args == ("context [redacted]",)
    assert under_context.args == ("under context [redacted]",)
    assert all(e.__traceback__ is None for e in (cause, under_cause, context, under_context))


@pytest.mark.usefixtures("registered")
def test_seal_goes_on_past_a_cut_branch() -> None:
    long = _chain(18, "__cause__")
    other = _raised(ValueError("other pk-secret"))
    error = errors.ThreeDCartError("top")
    error.__context__, error.__cause__ = long[0], other  # the context is read first
    errors.seal(error)
    assert long[16].__cause__ is None
    assert other.args == ("other [redacted]",)
    assert other.__traceback__ is None


@pytest.mark.usefixtures("registered")
def test_seal_leaves_a_loop_in_the_chain_as_it_is() -> None:
    first, second = _raised(ValueError("first pk-secret")), _raised(ValueError("second tok-secret"))
    first.__context__, second.__context__ = second, first
    error = errors.ThreeDCartError("top")
    error.__cause__ = first
    errors.seal(error)
    assert (first.args, second.args) == (("first [redacted]",), ("second [redacted]",))
    assert first.__context__ is second and second.__context__ is first  # each read once: nothing to cut


@pytest.mark.usefixtures("registered")
def test_seal_leaves_the_sealed_error_itself_as_it_is_when_the_chain_comes_back_to_it() -> None:
    error = _raised(errors.ThreeDCartError("top"))
    traceback = error.__traceback__
    cause = _raised(ValueError("cause pk-secret"))
    error.__cause__, cause.__context__ = cause, error
    assert errors.seal(error) is error
    assert cause.args == ("cause [redacted]",) and cause.__context__ is error
    assert error.__traceback__ is traceback  # only its chain is sealed


# --- the sync window's filters, found in the spec ------------------------------------------------
def test_the_sync_filters_are_the_specs_last_update_filters(monkeypatch: pytest.MonkeyPatch) -> None:
    from threedcart import _params

    synthetic = {
        "xtest_until": {"field": "$lastUpdate", "match": "until"},
        "xtest_other_since": {"field": "XTestOther", "match": "since"},
        "xtest_since": {"field": "$lastUpdate", "match": "since"},
        "xtest_since_too": {"field": "$lastUpdate", "match": "since"},
    }
    monkeypatch.setattr(_params, "LIST_FILTERS", synthetic)
    assert _params._time_filter("since") == "xtest_since"  # the first one the spec declares
    assert _params._time_filter("until") == "xtest_until"
    assert _params._time_filter("around") == "(the spec has no $lastUpdate filter with match around)"


def test_the_earliest_year_the_api_can_read_is_sent() -> None:
    assert store_time(date(1000, 1, 1), UTC) == "01/01/1000 00:00:00"
    assert store_time(datetime(9999, 12, 31, 23, 59, 59), UTC) == "12/31/9999 23:59:59"
    with pytest.raises(ValueError, match=r"^date: the year 999 cannot be sent"):
        store_time(date(999, 12, 31), UTC)


def test_a_list_filter_takes_a_list_of_anything_its_items_allow() -> None:
    from threedcart import _params

    assert _params._checked("xtest_ids", [1, "a", None], {"type": "array"}) == [1, "a", None]
    assert _params._checked("xtest_ids", (1, 2), {"type": "array", "items": {"type": "integer"}}) == [1, 2]
    with pytest.raises(TypeError, match=r"^xtest_ids must be a list, not str$"):
        _params._checked("xtest_ids", "1,2", {"type": "array"})
    assert _params._checked("xtest_any", {"a": 1}, {}) == {"a": 1}  # a schema without a type
    with pytest.raises(TypeError, match=r"^xtest_flag must be true or false, not int$"):
        _params._checked("xtest_flag", 1, {"type": "boolean"})


# --- a range that nothing can match is refused before sending -----------------------------------------
def test_an_update_window_whose_start_is_after_its_end_is_refused() -> None:
    with pytest.raises(ValueError) as caught:
        query_params({"updated_since": date(2026, 3, 2), "updated_until": date(2026, 3, 1)}, UTC)
    assert str(caught.value) == (
        "updated_since (03/02/2026 00:00:00) is after updated_until (03/01/2026 23:59:59): "
        "no customer can match"
    )


@pytest.mark.parametrize(
    ("since", "until"),
    [
        (datetime(2026, 3, 1, 10), datetime(2026, 3, 1, 10)),  # one second: both ends inclusive
        (date(2025, 12, 31), date(2026, 1, 1)),  # "12/31/2025" sorts after "01/01/2026" as text
        (date(2026, 3, 1), None),
        (None, date(2020, 1, 1)),
    ],
)
def test_an_update_window_that_can_match_is_sent(since: date | None, until: date | None) -> None:
    filters = {k: v for k, v in (("updated_since", since), ("updated_until", until)) if v is not None}
    _, params = query_params(filters, UTC)
    assert len(params) == len(filters)


def test_ranges_are_checked_per_field_by_value(monkeypatch: pytest.MonkeyPatch) -> None:
    from threedcart import _params

    def bound(kwarg: str, field: str, match: str) -> dict[str, Any]:
        return {"kwarg": kwarg, "field": field, "match": match, "store_time": False}

    monkeypatch.setattr(
        _params,
        "LIST_FILTERS",
        {
            "xtest_min": bound("xmin", "XTestN", "since"),
            "xtest_max": bound("xmax", "XTestN", "until"),
            "xtest_other_max": bound("xother", "XTestM", "until"),
            "xtest_exact": bound("xexact", "XTestN", "equals"),
        },
    )
    _params._check_ranges({"xmin": 5, "xother": 3, "xexact": 1})  # bounds of two fields: no range
    _params._check_ranges({"xmin": 3, "xmax": 3})
    with pytest.raises(
        ValueError, match=r"^xtest_min \(5\) is after xtest_max \(3\): no customer can match$"
    ):
        _params._check_ranges({"xmin": 5, "xmax": 3, "xexact": 9})


def test_a_filter_the_group_listing_lacks_is_refused_with_group_id_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from threedcart import _params

    monkeypatch.setitem(
        _params.LIST_FILTERS, "city", dict(_params.LIST_FILTERS["city"], in_group_listing=False)
    )
    assert query_params({"city": "Tampa"}, UTC) == (None, {"city": "Tampa"})
    with pytest.raises(
        TypeError, match=r"^city cannot be combined with group_id \(the group listing has no city\)$"
    ):
        query_params({"city": "Tampa", "group_id": 3}, UTC)
