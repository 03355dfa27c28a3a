"""The store clock and the schema checker, in this process: what a changed default would break.

The clock keeps its instants in UTC whatever the host's zone, and dates its first answer whatever
second it is (second -1, 1969-12-31T23:59:59Z, was once taken for "none yet"). A checked array
without an `items` name names its items by index, and the fast path (jsonschema-rs) only ever says
yes about the value it was given.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import test_mock_units
from test_mock_units import SCHEMAS, SPEC
from threedcart_mock import _schema
from threedcart_mock._clock import StoreClock

use_spec = test_mock_units.use_spec  # the fixture: a (changed) spec, the spec readers' caches cleared


@pytest.fixture
def host_in_tokyo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The host's local zone is UTC+9 for the test (`TZ` and `time.tzset`), then what it was."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("host_in_tokyo")
def test_a_started_clock_keeps_utc_instants_whatever_the_hosts_zone() -> None:
    start = datetime(2026, 11, 1, 1, 30, tzinfo=timezone(timedelta(hours=-4)))
    clock = StoreClock(start, speed=0)
    now = clock.now()
    assert now == start and now.tzinfo is UTC
    assert clock.http_date() == b"Sun, 01 Nov 2026 05:30:00 GMT"
    assert clock.store_stamp() == "2026-11-01 01:30:00"


@pytest.mark.usefixtures("host_in_tokyo")
def test_a_clock_started_now_at_another_speed_starts_at_the_current_utc_instant() -> None:
    before = datetime.now(UTC)
    clock = StoreClock(speed=0)
    after = datetime.now(UTC)
    assert before <= clock.now() <= after and clock.now().tzinfo is UTC


@pytest.mark.parametrize("second", [-2, -1, 0, 1, 2])
def test_the_first_date_is_formatted_whatever_second_it_is(second: int) -> None:
    start = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=second)
    clock = StoreClock(start, speed=0)
    expected = start.strftime("%a, %d %b %Y %H:%M:%S GMT").encode()
    assert clock.http_date() == expected
    assert clock.http_date() == expected  # the cached one


def _array_spec() -> dict[str, Any]:
    spec = copy.deepcopy(SPEC)
    spec["components"]["schemas"]["XyzzyRows"] = {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["XyzzyId"],
            "properties": {"XyzzyId": {"type": "integer"}},
        },
    }
    spec["components"]["schemas"]["XyzzyMaybe"] = {"type": "string", "nullable": True, "maxLength": 3}
    return spec


@pytest.mark.parametrize("fast", [False, True])
def test_an_array_checked_without_an_items_name_names_its_items_by_index(
    use_spec: Callable[[Any], Path], fast: bool
) -> None:
    use_spec(_array_spec())
    rows = _schema.Schema(SCHEMAS + "XyzzyRows", fast=fast)
    assert rows.problems([{"XyzzyId": 1}, {"XyzzyId": "two"}]) == ["[1].XyzzyId must be of type integer"]
    assert rows.check([{"XyzzyId": 1}, {}]) == "[1].XyzzyId is required"
    assert rows.check([{"XyzzyId": 1}, {}], items="row") == "row 1: XyzzyId is required"


def test_the_fast_path_judges_the_value_it_is_given(use_spec: Callable[[Any], Path]) -> None:
    use_spec(_array_spec())
    maybe = _schema.Schema(SCHEMAS + "XyzzyMaybe", fast=True)
    assert maybe._fast is not None and maybe._fast(None)  # null is a valid value of this schema ...
    assert maybe.check(None, "xyzzy") is None
    assert maybe.check("abcd", "xyzzy") == "xyzzy is longer than 3 characters"  # ... "abcd" is not
