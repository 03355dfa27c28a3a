"""Pythonic filters in, the API's query parameters out."""

from __future__ import annotations

from datetime import date, datetime, time, tzinfo
from typing import Any, TypedDict

from dateutil import parser as date_parser

STORE_TIME_FORMAT = "%m/%d/%Y %H:%M:%S"
_EARLY = datetime(2000, 1, 1, 0, 0, 0)
_LATE = datetime(2001, 2, 2, 23, 59, 59)

DateLike = datetime | date | str


class Filters(TypedDict, total=False):
    """The filters the list methods accept, as keyword arguments."""

    email: str
    first_name: str
    last_name: str
    country: str
    state: str
    city: str
    phone: str
    group_id: int
    updated_since: DateLike
    updated_until: DateLike


_TEXT_FILTERS = {
    "email": "email",
    "first_name": "firstname",
    "last_name": "lastname",
    "country": "country",
    "state": "state",
    "city": "city",
    "phone": "phone",
}
FILTER_NAMES = frozenset({*_TEXT_FILTERS, "group_id", "updated_since", "updated_until"})


def store_time(value: DateLike, store_tz: tzinfo, *, end_of_day: bool = False, name: str = "date") -> str:
    """`value` as the API's `MM/DD/YYYY HH:MM:SS` in the store's time zone.

    Aware datetimes are converted to the store's zone; naive ones are taken as store time.
    A bare date means its first second, or its last one when `end_of_day` (so that
    `updated_until=date(2026, 1, 31)` includes all of January 31st). Strings are parsed
    by python-dateutil and must hold a whole date (year, month and day); without a time they
    are a bare date.
    """
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
        value = early.date() if early.hour != late.hour else early
    if isinstance(value, datetime):
        moment = value.astimezone(store_tz).replace(tzinfo=None) if value.tzinfo else value
    elif isinstance(value, date):
        moment = datetime.combine(value, time(23, 59, 59) if end_of_day else time())
    else:
        raise TypeError(f"{name} must be a datetime, a date or a string, not {type(value).__name__}")
    return moment.strftime(STORE_TIME_FORMAT)


def query_params(filters: dict[str, Any], store_tz: tzinfo) -> tuple[int | None, dict[str, Any]]:
    """(group id, keyword arguments of the generated list operations) for these filters."""
    unknown = set(filters) - FILTER_NAMES
    if unknown:
        known = ", ".join(sorted(FILTER_NAMES))
        raise TypeError(f"unknown filter(s) {', '.join(sorted(unknown))}; the filters are {known}")
    params: dict[str, Any] = {}
    for name, param in _TEXT_FILTERS.items():
        value = filters.get(name)
        if value is not None:
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a string, not {type(value).__name__}")
            params[param] = value
    if filters.get("updated_since") is not None:
        params["lastupdatestart"] = store_time(filters["updated_since"], store_tz, name="updated_since")
    if filters.get("updated_until") is not None:
        params["lastupdateend"] = store_time(
            filters["updated_until"], store_tz, end_of_day=True, name="updated_until"
        )
    group_id = filters.get("group_id")
    if group_id is not None and (not isinstance(group_id, int) or isinstance(group_id, bool) or group_id < 0):
        raise ValueError(f"group_id must be a non-negative integer, not {group_id!r}")
    return group_id, params
