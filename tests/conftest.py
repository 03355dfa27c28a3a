"""Shared fixtures: mock stores started as subprocesses on free loopback ports."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from threedcart_mock.testing import MockServer

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
