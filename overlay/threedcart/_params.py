"""Pythonic filters in, the API's query parameters out."""

from __future__ import annotations

from datetime import date, datetime, time, tzinfo
from typing import Any, TypeGuard

from dateutil import parser as date_parser
from threedcart_customers_client.spec import LIST_FILTERS, ListFilters

from ._rows import warn_at_users_line

STORE_TIME_FORMAT = "%m/%d/%Y %H:%M:%S"
MIN_YEAR = 1000
_EARLY = datetime(2000, 1, 1, 0, 0, 0)
_LATE = datetime(2001, 2, 2, 23, 59, 59)

DateLike = datetime | date | str


class Filters(ListFilters, total=False):
    """The filters the list methods accept, as keyword arguments.

    All but `group_id` come from the spec: each parameter of the list operation that carries
    `x-threedcart-filter` (see `threedcart_customers_client.spec.LIST_FILTERS`). `group_id`
    lists one customer group's customers instead of the whole store.
    """

    group_id: int


FILTER_NAMES = frozenset({*LIST_FILTERS, "group_id"})


def _time_filter(match: str) -> str:
    """The SDK name of the filter on the store's last-update time with this `match` (sync's window)."""
    names = [n for n, f in LIST_FILTERS.items() if f["field"] == "$lastUpdate" and f["match"] == match]
    return names[0] if names else f"(the spec has no $lastUpdate filter with match {match})"


UPDATED_SINCE = _time_filter("since")
UPDATED_UNTIL = _time_filter("until")
_KINDS: dict[str | None, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}
_KIND_NAMES: dict[str | None, str] = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
}


def store_time(value: DateLike, store_tz: tzinfo, *, end_of_day: bool = False, name: str = "date") -> str:
    """`value` as the API's `MM/DD/YYYY HH:MM:SS` in the store's time zone.

    Aware datetimes are converted to the store's zone; naive ones are taken as store time.
    A bare date means its first second, or its last one when `end_of_day` (so that
    `updated_until=date(2026, 1, 31)` includes all of January 31st). Strings are parsed
    by python-dateutil and must hold a whole date (year, month and day); without a time they
    are a bare date.
    """
    given: object = value  # checked at run time too: callers without a type checker pass anything
    if isinstance(value, str):
        try:
            # Parsed twice with different defaults for what the string leaves out: a date part
            # that differs was missing (refused: dateutil would make it up), and an hour that
            # differs means the string had no time (a bare date).
            early = date_parser.parse(value, default=_EARLY)
            late = date_parser.parse(value, default=_LATE)
        except (ValueError, OverflowError) as exc:
            raise ValueError(f"{name}: cannot read {value!r} as a date ({exc})") from None
        if early.date() != late.date():
            raise ValueError(f"{name}: {value!r} is not a whole date; give the year, month and day")
        given = early.date() if early.hour != late.hour else early
    if isinstance(given, datetime):
        try:
            moment = given.astimezone(store_tz).replace(tzinfo=None) if given.tzinfo else given
        except (OverflowError, ValueError):
            raise ValueError(f"{name}: {given!r} is out of range in the store's time zone") from None
    elif isinstance(given, date):
        moment = datetime.combine(given, time(23, 59, 59) if end_of_day else time())
    else:
        raise TypeError(f"{name} must be a datetime, a date or a string, not {type(given).__name__}")
    if moment.year < MIN_YEAR:  # datetime's own years end at 9999
        # strftime writes the year 99 as "99", which the service would read as 1999
        raise ValueError(
            f"{name}: the year {moment.year} cannot be sent; the API's dates have four-digit years "
            f"({MIN_YEAR} to 9999)"
        )
    return moment.strftime(STORE_TIME_FORMAT)


def query_params(filters: dict[str, Any], store_tz: tzinfo) -> tuple[int | None, dict[str, Any]]:
    """(group id, keyword arguments of the generated list operation) for these filters.

    A name the spec does not declare (a filter removed from the API included) is a TypeError
    naming it, raised before any request; a deprecated filter gives one DeprecationWarning.
    """
    unknown = set(filters) - FILTER_NAMES
    if unknown:
        known = ", ".join(sorted(FILTER_NAMES))
        raise TypeError(f"unknown filter(s) {', '.join(sorted(unknown))}; the filters are {known}")
    group_id = filters.get("group_id")
    if group_id is not None and (not isinstance(group_id, int) or isinstance(group_id, bool) or group_id < 0):
        raise ValueError(f"group_id must be a non-negative integer, not {group_id!r}")
    params: dict[str, Any] = {}
    for name, spec in LIST_FILTERS.items():
        value = filters.get(name)
        if value is None:
            continue
        if spec["deprecated"]:
            warn_at_users_line(
                f"the filter {name} is deprecated by the API ({spec['param']})", DeprecationWarning
            )
        if group_id is not None and not spec["in_group_listing"]:
            raise TypeError(
                f"{name} cannot be combined with group_id (the group listing has no {spec['param']})"
            )
        if spec["store_time"]:
            params[spec["kwarg"]] = store_time(
                value, store_tz, end_of_day=spec["match"] == "until", name=name
            )
        else:
            params[spec["kwarg"]] = _checked(name, value, spec["schema"])
    _check_ranges(params)
    return group_id, params


def _check_ranges(params: dict[str, Any]) -> None:
    """A ValueError for a lower bound above the upper bound of the same field (an empty range,
    most often two dates swapped), which the service would answer with nothing."""
    bounds: dict[str, dict[str, tuple[str, Any, Any]]] = {}
    for name, spec in LIST_FILTERS.items():
        if spec["kwarg"] in params and spec["match"] in ("since", "until"):
            sent = params[spec["kwarg"]]
            key = datetime.strptime(sent, STORE_TIME_FORMAT) if spec["store_time"] else sent
            bounds.setdefault(spec["field"], {})[spec["match"]] = (name, key, sent)
    for pair in bounds.values():
        if len(pair) == 2 and pair["since"][1] > pair["until"][1]:
            (low, _, low_sent), (high, _, high_sent) = pair["since"], pair["until"]
            raise ValueError(f"{low} ({low_sent}) is after {high} ({high_sent}): no customer can match")


def _is_array(value: object) -> TypeGuard[list[object] | tuple[object, ...]]:
    return isinstance(value, list | tuple)


def _checked(name: str, value: Any, schema: dict[str, Any]) -> Any:
    """`value` if its type is the one the spec gives the filter (a TypeError naming it if not)."""
    kind = schema.get("type")
    if kind == "array":
        if not _is_array(value):
            raise TypeError(f"{name} must be a list, not {type(value).__name__}")
        return [_checked(f"{name}[{i}]", item, schema.get("items", {})) for i, item in enumerate(value)]
    accepted = _KINDS.get(kind)
    if accepted is not None and (
        not isinstance(value, accepted) or (isinstance(value, bool) and kind != "boolean")
    ):
        raise TypeError(f"{name} must be {_KIND_NAMES[kind]}, not {type(value).__name__}")
    enum = schema.get("enum")
    if enum is not None and value not in enum:
        raise ValueError(f"{name} must be one of {', '.join(map(str, enum))}, not {value!r}")
    return value
