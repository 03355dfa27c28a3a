"""Every filter of the spec filters every listing of the mock: the whole store, the group of the
customers without a group (0) and another group, as pages and as counts. The filters come from
the spec (`x-threedcart-filter`), so a filter the mock drops for one listing fails here by name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import http
from threedcart_customers_client.spec import LIST_FILTERS
from threedcart_mock.testing import MockServer

LISTINGS = {
    "store": "/Customers",
    "group 0": "/CustomerGroups/0/Customers",
    "group 1": "/CustomerGroups/1/Customers",
}


def _in(listing: str, customer: dict[str, Any]) -> bool:
    return listing == "store" or customer["CustomerGroupID"] == int(listing.split()[1])


@pytest.fixture(scope="module")
def store() -> Iterator[tuple[MockServer, list[dict[str, Any]]]]:
    with MockServer(["--seed-customers", "60", "--random-seed", "31"]) as server, http(server) as client:
        # a third of the customers in group 1, the rest in no group (0)
        groups = [{"CustomerID": i, "CustomerGroupID": 1 if i % 3 == 0 else 0} for i in range(1, 61)]
        assert client.put("/Customers", json=groups).status_code == 200
        everyone = client.get("/Customers", params={"limit": 500}).json()
        assert len(everyone) == 60 and {c["CustomerGroupID"] for c in everyone} == {0, 1}
        yield server, everyone


def _read(client: Any, path: str, params: dict[str, str]) -> tuple[set[int], int]:
    page = client.get(path, params={**params, "limit": 500})
    ids = set() if page.status_code == 404 else {c["CustomerID"] for c in page.json()}
    assert page.status_code in (200, 404), page.text
    counted = client.get(path, params={**params, "countonly": 1})
    return ids, 0 if counted.status_code == 404 else counted.json()["TotalCount"]


EQUALS = [
    name for name, spec in LIST_FILTERS.items() if spec["match"] == "equals" and spec["in_group_listing"]
]
TIMES = [name for name, spec in LIST_FILTERS.items() if spec["store_time"] and spec["in_group_listing"]]


@pytest.mark.parametrize("listing", list(LISTINGS))
@pytest.mark.parametrize("name", EQUALS)
def test_an_equals_filter_filters_every_listing(
    store: tuple[MockServer, list[dict[str, Any]]], name: str, listing: str
) -> None:
    server, everyone = store
    spec = LIST_FILTERS[name]
    members = [c for c in everyone if _in(listing, c)]
    # a value one member of this listing has, written in other case (text matches case-insensitively)
    value = next(c[spec["field"]] for c in members if c[spec["field"]])
    expected = {c["CustomerID"] for c in members if str(c[spec["field"]]).lower() == str(value).lower()}
    assert 0 < len(expected) < len(members)  # the filter has something to leave out
    with http(server) as client:
        ids, count = _read(client, LISTINGS[listing], {spec["param"]: str(value).swapcase()})
    assert (ids, count) == (expected, len(expected)), (name, listing)


@pytest.mark.parametrize("listing", list(LISTINGS))
@pytest.mark.parametrize("name", TIMES)
def test_a_time_filter_filters_every_listing(
    store: tuple[MockServer, list[dict[str, Any]]], name: str, listing: str
) -> None:
    server, everyone = store
    spec = LIST_FILTERS[name]
    members = {c["CustomerID"] for c in everyone if _in(listing, c)}
    # every customer was written today: a bound in the far future or past keeps all or none
    keeps_all, keeps_none = ("01/01/2000 00:00:00", "01/01/2999 00:00:00")
    if spec["match"] == "until":
        keeps_all, keeps_none = keeps_none, keeps_all
    with http(server) as client:
        assert _read(client, LISTINGS[listing], {spec["param"]: keeps_all}) == (members, len(members))
        assert _read(client, LISTINGS[listing], {spec["param"]: keeps_none}) == (set(), 0), (name, listing)
