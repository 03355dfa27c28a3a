"""The end-to-end smoke run of one evolution scenario (tests/test_evolution.py), in its own process.

Run with the scenario's copy of the repository first on `sys.path` (PYTHONPATH=COPY/overlay:
COPY/generated:COPY/mock), so that `threedcart`, the regenerated client and the mock are the copy's,
never /work/main's. It starts the copy's mock on a free loopback port and drives the SDK and the
`threedcart` console script (same PYTHONPATH) through create, get, list, iter, update_many, export and
mirror (into DuckDB: a new field is a filled column) with the scenario's new field or filter, its added
operation or its deprecations.

    python tests/evolution_smoke.py '<scenario as JSON>'

The argument: {"root": copy, "work": folder, "version": info.version, "text_field": a Customer text
field, "fields": [{"name", "first", "second"}] (each value set on create, then by update_many),
"filters": [{"param", "sdk", "option", "field"}], "operation": {"path", "schema", "module"} | null,
"deprecated": {"field", "filter_sdk", "filter_option", "filter_field"} | null}. A failed check raises
AssertionError naming the step; exit status 0 means every step passed.
"""

from __future__ import annotations

import csv
import importlib
import json
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CLI = str(Path(sys.executable).parent / "threedcart")  # the console script of the virtual environment


class Smoke:
    def __init__(self, cfg: dict[str, Any], work: Path) -> None:
        self.cfg = cfg
        self.root = Path(cfg["root"])
        self.work = work
        self.serial = 0

    # --- helpers -----------------------------------------------------------------------------
    def email(self, tag: str) -> str:
        self.serial += 1
        return f"xtest-{tag}-{self.serial}@example.com"

    def cli(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [CLI, *args], env=self.env, capture_output=True, text=True, timeout=120, check=False
        )
        if ok:
            assert result.returncode == 0, (
                f"threedcart {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )
        return result

    def cli_json(self, *args: str) -> Any:
        out = self.cli(*args).stdout
        try:
            return json.loads(out)
        except json.JSONDecodeError:
            raise AssertionError(f"threedcart {' '.join(args)} did not print JSON:\n{out}") from None

    def write(self, name: str, data: Any, *, lines: bool = False) -> str:
        path = self.work / name
        text = "".join(json.dumps(d) + "\n" for d in data) if lines else json.dumps(data)
        path.write_text(text, encoding="utf-8")
        return str(path)

    def exported(
        self, *filter_args: str, csv_too: bool = False
    ) -> tuple[dict[int, dict[str, Any]], list[str]]:
        """CLI export to JSONL (and to CSV): the JSONL rows by id, and the CSV header."""
        jsonl, csv_path = self.work / "export.jsonl", self.work / "export.csv"
        self.cli("customers", "export", "--output", str(jsonl), *filter_args)
        rows = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines() if line]
        header: list[str] = []
        if csv_too:
            self.cli("customers", "export", "--output", str(csv_path), *filter_args)
            with csv_path.open(newline="", encoding="utf-8") as stream:
                header = next(csv.reader(stream))
        return {r["CustomerID"]: r for r in rows}, header

    # --- the run -------------------------------------------------------------------------------
    def run(self) -> None:
        import threedcart
        import threedcart_customers_client
        import threedcart_mock
        from threedcart_mock.testing import MockServer

        for module, folder in (
            (threedcart, "overlay"),
            (threedcart_customers_client, "generated"),
            (threedcart_mock, "mock"),
        ):
            where = Path(module.__file__ or "").resolve()
            assert where.is_relative_to(self.root / folder), f"{module.__name__} imported from {where}"
        assert threedcart_customers_client.__version__ == self.cfg["version"], (
            f"the regenerated client says {threedcart_customers_client.__version__}, "
            f"the spec {self.cfg['version']}"
        )
        with MockServer() as mock:
            self.kwargs: dict[str, Any] = {
                "secure_url": mock.headers["SecureURL"],
                "private_key": mock.headers["PrivateKey"],
                "token": mock.headers["Token"],
                "base_url": mock.url,
            }
            self.env = {
                **os.environ,
                "THREEDCART_SECURE_URL": mock.headers["SecureURL"],
                "THREEDCART_PRIVATE_KEY": mock.headers["PrivateKey"],
                "THREEDCART_TOKEN": mock.headers["Token"],
                "THREEDCART_BASE_URL": mock.url,
                "COLUMNS": "200",  # help and tables on one line each
            }
            self.mock, self.threedcart = mock, threedcart
            version = self.cli("--version").stdout
            assert f"(API contract {self.cfg['version']})" in version, f"threedcart --version: {version}"
            self.basics()
            if self.cfg.get("filters"):
                self.filters()
            if self.cfg.get("operation"):
                self.operation()
            if self.cfg.get("deprecated"):
                self.deprecations()

    def basics(self) -> None:
        """Create, get, list, iter, update_many and export, with each new field (or a text field)."""
        fields = self.cfg.get("fields") or [
            {"name": self.cfg["text_field"], "first": "xtest first", "second": "xtest second", "known": True}
        ]

        def check(data: dict[str, Any], f: dict[str, Any], which: str, step: str) -> None:
            assert f["name"] in data, f"{step}: {f['name']} is missing from {data}"
            assert data[f["name"]] == f[which], (
                f"{step}: {f['name']} is {data[f['name']]!r}, not {f[which]!r}"
            )

        def sdk_check(customer: Any, f: dict[str, Any], which: str, step: str) -> None:
            check(customer.to_dict(), f, which, f"SDK {step}")
            assert f.get("known") or f["name"] not in customer.additional_properties, (
                f"SDK {step}: {f['name']} is an unknown key of the model, not one of its fields"
            )

        # the SDK: one customer per field, so that each field's failure is its own
        with self.threedcart.Store(**self.kwargs) as store:
            ids = {}
            for f in fields:
                ids[f["name"]] = store.customers.create(
                    {"Email": self.email("sdk"), "Password": "", f["name"]: f["first"]}
                )
                sdk_check(store.customers.get(ids[f["name"]]), f, "first", "get after create")
            page = {c.customer_id: c for c in store.customers.list(limit=500)}
            listed = {c.customer_id: c for c in store.customers.iter()}
            for f in fields:
                sdk_check(page[ids[f["name"]]], f, "first", "list")
                sdk_check(listed[ids[f["name"]]], f, "first", "iter")
            result = store.customers.update_many(
                [{"CustomerID": ids[f["name"]], f["name"]: f["second"]} for f in fields]
            )
            assert result.ok and sorted(result.updated) == sorted(ids.values()), f"SDK update_many: {result}"
            export = {c.customer_id: c for c in store.customers.iter(concurrency=4, page_size=2)}
            for f in fields:
                sdk_check(store.customers.get(ids[f["name"]]), f, "second", "get after update_many")
                sdk_check(export[ids[f["name"]]], f, "second", "export (iter, concurrency 4)")

        # the CLI: one customer with every field
        body = {"Email": self.email("cli"), "Password": "", **{f["name"]: f["first"] for f in fields}}
        created = self.cli("customers", "create", self.write("new.json", body)).stdout.strip()
        assert created.isdigit(), f"threedcart customers create printed {created!r}"
        cli_id = int(created)
        rows = {
            r["CustomerID"]: r
            for r in self.cli_json("customers", "list", "--format", "json", "--limit", "500")
        }
        for f in fields:
            check(rows[cli_id], f, "first", "threedcart customers list (after create)")
        update = [{"CustomerID": cli_id, **{f["name"]: f["second"] for f in fields}}]
        self.cli("customers", "import", self.write("update.jsonl", update, lines=True))
        got = self.cli_json("customers", "get", str(cli_id))
        new_fields = bool(self.cfg.get("fields"))
        exported, header = self.exported(csv_too=new_fields)  # CSV: the new fields' columns
        for f in fields:
            check(got, f, "second", "threedcart customers get (after import)")
            check(exported[cli_id], f, "second", "threedcart customers export (JSONL)")
            assert not new_fields or f["name"] in header, (
                f"threedcart customers export (CSV): no {f['name']} column in {header}"
            )
        assert set(ids.values()) <= set(exported), f"threedcart customers export: ids {sorted(exported)}"
        if new_fields:
            self.mirrored(cli_id, fields)

    def mirrored(self, cli_id: int, fields: list[dict[str, Any]]) -> None:
        """`threedcart customers mirror` into DuckDB: each new field is a column, filled."""
        import time

        import duckdb
        from dlt.common.normalizers.naming.snake_case import NamingConvention

        time.sleep(1.2)  # the customers written above are older than the run's lag (1 s)
        db = self.work / "mirror.duckdb"
        self.cli(
            "customers",
            "mirror",
            "--into",
            f"duckdb:///{db}",
            "--lag",
            "1",
            "--work-dir",
            str(self.work / "dlt"),
        )
        with duckdb.connect(str(db), read_only=True) as con:
            cursor = con.execute("SELECT * FROM threedcart.customers WHERE customer_id = ?", [cli_id])
            names = [d[0] for d in cursor.description or ()]
            row = dict(zip(names, cursor.fetchone() or (), strict=True))
        assert row, f"threedcart customers mirror: customer {cli_id} is not in the table"
        naming = NamingConvention()
        for f in fields:
            column = naming.normalize_identifier(f["name"])
            assert column in row, (
                f"threedcart customers mirror: no column {column} for {f['name']} in {sorted(row)}"
            )
            value = row[column]
            if isinstance(f["second"], list | dict):  # arrays and objects are JSON columns
                value = json.loads(value)
            assert value == f["second"], (
                f"threedcart customers mirror: {column} is {value!r}, not {f['second']!r}"
            )

    def filters(self) -> None:
        """Each added filter: the SDK keyword and the CLI option select exactly the matching customers."""
        for spec in self.cfg["filters"]:
            field, sdk, option = spec["field"], spec["sdk"], spec["option"]
            wanted, other = f"XT{self.serial}A", f"XT{self.serial}B"
            with self.threedcart.Store(**self.kwargs) as store:
                ids = {
                    v: store.customers.create({"Email": self.email("filter"), "Password": "", field: v})
                    for v in (wanted, other)
                }
                found = [c.customer_id for c in store.customers.iter(**{sdk: wanted})]
                assert found == [ids[wanted]], f"SDK iter({sdk}={wanted!r}) gave {found}, not [{ids[wanted]}]"
                assert store.customers.count(**{sdk: other}) == 1, f"SDK count({sdk}={other!r})"
                page = [c.customer_id for c in store.customers.list(**{sdk: other})]
                assert page == [ids[other]], f"SDK list({sdk}={other!r}) gave {page}"
            listed = [
                r["CustomerID"]
                for r in self.cli_json("customers", "list", option, wanted, "--format", "json")
            ]
            assert listed == [ids[wanted]], f"threedcart customers list {option} {wanted}: {listed}"
            count = self.cli("customers", "count", option, other).stdout
            assert count.strip().split()[0].replace(",", "") == "1", (
                f"threedcart customers count {option}: {count}"
            )
            exported, _ = self.exported(option, wanted)
            assert list(exported) == [ids[wanted]], (
                f"threedcart customers export {option} {wanted}: {list(exported)}"
            )

    def operation(self) -> None:
        """The added operation: the mock answers it from the spec; the regenerated client calls it."""
        import httpx
        import jsonschema

        op = self.cfg["operation"]
        with self.threedcart.Store(**self.kwargs) as store:
            cid = store.customers.create({"Email": self.email("op"), "Password": ""})
            raw = httpx.get(
                self.mock.url + op["path"].replace("{id}", str(cid)),
                headers=self.mock.headers,
                timeout=30,
            )
            assert raw.status_code == 200, f"mock GET {op['path']}: {raw.status_code} {raw.text[:500]}"
            errors = [e.message for e in jsonschema.Draft4Validator(op["schema"]).iter_errors(raw.json())]
            assert not errors, (
                f"mock GET {op['path']} answered {raw.text[:500]}, not the spec's schema: {errors}"
            )
            module = importlib.import_module(op["module"])
            answer = module.sync_detailed(cid, client=store.client)
            assert answer.status_code == 200 and answer.parsed is not None, (
                f"generated {op['module']}.sync_detailed: {answer.status_code} {answer.content[:300]!r}"
            )

    def deprecations(self) -> None:
        """A deprecated field and filter still work, with a DeprecationWarning; the CLI help says so."""
        dep = self.cfg["deprecated"]
        field, sdk, option, filter_field = (
            dep["field"],
            dep["filter_sdk"],
            dep["filter_option"],
            dep["filter_field"],
        )
        marker = f"XT{self.serial}D"
        with self.threedcart.Store(**self.kwargs) as store:
            with caught() as seen:
                cid = store.customers.create(
                    {"Email": self.email("dep"), "Password": "", field: "x", filter_field: marker}
                )
            assert any(field in m for m in seen), f"SDK create with deprecated {field}: warnings {seen}"
            with caught() as seen:
                found = [c.customer_id for c in store.customers.iter(**{sdk: marker})]
            assert found == [cid], f"SDK iter({sdk}=...) with the deprecated filter gave {found}"
            assert any(sdk in m or option.lstrip("-") in m for m in seen), (
                f"SDK iter({sdk}=...): no DeprecationWarning naming it, warnings {seen}"
            )
        listed = [
            r["CustomerID"] for r in self.cli_json("customers", "list", option, marker, "--format", "json")
        ]
        assert listed == [cid], f"threedcart customers list {option} (deprecated): {listed}"
        help_text = self.cli("customers", "list", "--help").stdout
        line = next((x for x in help_text.splitlines() if option in x), "")
        assert "Deprecated" in line, (
            f"threedcart customers list --help does not mark {option} deprecated: {line!r}"
        )


@contextmanager
def caught() -> Iterator[list[str]]:
    """The DeprecationWarning messages raised inside the block."""
    messages: list[str] = []
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        yield messages
    messages += [str(w.message) for w in records if issubclass(w.category, DeprecationWarning)]


def main() -> int:
    cfg = json.loads(sys.argv[1])
    work = Path(cfg["work"])
    work.mkdir(parents=True, exist_ok=True)
    Smoke(cfg, work).run()
    print("smoke: every step passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
