"""The `threedcart` command line: count, list, export, import and sync a store's customers."""

from __future__ import annotations

import csv
import functools
import inspect
import io
import json
import logging
import os
import sys
import tempfile
import time
import typing
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TextIO

import attrs
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from threedcart_customers_client.models import Customer
from threedcart_customers_client.types import Unset

from ._client import Store
from ._constants import ENV_BASE_URL, ENV_PRIVATE_KEY, ENV_SECURE_URL, ENV_TOKEN
from ._params import Filters
from ._sync import DEFAULT_LAG, MIN_LAG, SyncWindow, parse_watermark
from .errors import ThreeDCartError

app = typer.Typer(
    name="threedcart",
    help="Work with a 3dcart (Shift4Shop) store's customers from the shell.\n\n"
    f"Credentials come from {ENV_SECURE_URL}, {ENV_PRIVATE_KEY} and {ENV_TOKEN} "
    f"(and optionally {ENV_BASE_URL}), or from the options below.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
customers_app = typer.Typer(help="Count, list, export, import and sync customers.", no_args_is_help=True)
app.add_typer(customers_app, name="customers")

err = Console(stderr=True, highlight=False)
out = Console(highlight=False, soft_wrap=True)


class Format(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


class FileFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"


class CLIError(Exception):
    """An error the CLI reports in one line, exiting with status 1."""


# --- the API's field names and types, derived from the generated model --------------------------
def _field_table() -> tuple[list[str], dict[str, type]]:
    fields = attrs.fields(Customer)
    markers: dict[str, Any] = {f.name: f"<{f.name}>" for f in fields if f.name != "additional_properties"}
    sample = Customer(**markers)
    api_names = list(sample.to_dict())
    by_attr = {f"<{f.name}>": f.name for f in fields}
    hints = typing.get_type_hints(Customer)
    kinds: dict[str, type] = {}
    for api_name, marker in sample.to_dict().items():
        attr = by_attr[marker]
        args = [a for a in typing.get_args(hints[attr]) if a not in (Unset, type(None))]
        kinds[api_name] = args[0] if args else str
    return api_names, kinds


FIELDS, KINDS = _field_table()


def _parse_cell(name: str, text: str) -> Any:
    kind = KINDS[name]
    if kind is bool:
        lowered = text.strip().lower()
        if lowered in ("true", "1", "yes", "y"):
            return True
        if lowered in ("false", "0", "no", "n"):
            return False
        raise ValueError(f"{name} must be true or false, not {text!r}")
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{name} must be an integer, not {text!r}") from None
    if kind is float:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{name} must be a number, not {text!r}") from None
    return text


# --- options shared by the commands ------------------------------------------------------------
SecureUrlOpt = Annotated[str | None, typer.Option("--secure-url", help=f"Store URL (env {ENV_SECURE_URL})")]
PrivateKeyOpt = Annotated[
    str | None, typer.Option("--private-key", help=f"Private key (env {ENV_PRIVATE_KEY})")
]
TokenOpt = Annotated[str | None, typer.Option("--token", help=f"Token (env {ENV_TOKEN})")]
BaseUrlOpt = Annotated[
    str | None, typer.Option("--base-url", help=f"API scheme and host (env {ENV_BASE_URL})")
]
RetriesOpt = Annotated[int, typer.Option("--max-retries", min=0, help="Retries of a failed request.")]

EmailOpt = Annotated[str | None, typer.Option("--email", help="Exact email.", rich_help_panel="Filters")]
FirstOpt = Annotated[
    str | None, typer.Option("--first-name", help="Billing first name.", rich_help_panel="Filters")
]
LastOpt = Annotated[
    str | None, typer.Option("--last-name", help="Billing last name.", rich_help_panel="Filters")
]
CountryOpt = Annotated[
    str | None, typer.Option("--country", help="Billing country.", rich_help_panel="Filters")
]
StateOpt = Annotated[str | None, typer.Option("--state", help="Billing state.", rich_help_panel="Filters")]
CityOpt = Annotated[str | None, typer.Option("--city", help="Billing city.", rich_help_panel="Filters")]
PhoneOpt = Annotated[str | None, typer.Option("--phone", help="Billing phone.", rich_help_panel="Filters")]
GroupOpt = Annotated[
    int | None, typer.Option("--group-id", min=0, help="Customer group.", rich_help_panel="Filters")
]
SinceOpt = Annotated[
    str | None,
    typer.Option("--updated-since", help="Updated at or after (any date).", rich_help_panel="Filters"),
]
UntilOpt = Annotated[
    str | None,
    typer.Option("--updated-until", help="Updated at or before (any date).", rich_help_panel="Filters"),
]


class _Ctx:
    secure_url: str | None = None
    private_key: str | None = None
    token: str | None = None
    base_url: str | None = None
    max_retries: int = 2


@app.callback()
def _root(
    ctx: typer.Context,
    secure_url: SecureUrlOpt = None,
    private_key: PrivateKeyOpt = None,
    token: TokenOpt = None,
    base_url: BaseUrlOpt = None,
    max_retries: RetriesOpt = 2,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log every request (never its credentials) to stderr.")
    ] = False,
) -> None:
    if verbose:
        logging.basicConfig(
            level=logging.DEBUG, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
        )
    settings = _Ctx()
    settings.secure_url, settings.private_key, settings.token = secure_url, private_key, token
    settings.base_url, settings.max_retries = base_url, max_retries
    ctx.obj = settings


def _store(ctx: typer.Context) -> Store:
    s: _Ctx = ctx.find_root().obj
    overrides: dict[str, Any] = {"max_retries": s.max_retries}
    for key, value, env in (
        ("secure_url", s.secure_url, ENV_SECURE_URL),
        ("private_key", s.private_key, ENV_PRIVATE_KEY),
        ("token", s.token, ENV_TOKEN),
        ("base_url", s.base_url, ENV_BASE_URL),
    ):
        if value:
            overrides[key] = value
        elif key != "base_url" and not os.environ.get(env, "").strip():
            raise CLIError(f"{env} is not set (or pass --{key.replace('_', '-')})")
    try:
        return Store.from_env(**overrides)
    except ValueError as exc:
        raise CLIError(str(exc)) from None


_FILTER_OPTIONS = (
    ("email", EmailOpt),
    ("first_name", FirstOpt),
    ("last_name", LastOpt),
    ("country", CountryOpt),
    ("state", StateOpt),
    ("city", CityOpt),
    ("phone", PhoneOpt),
    ("group_id", GroupOpt),
    ("updated_since", SinceOpt),
    ("updated_until", UntilOpt),
)


def _with_filters(command: Callable[..., None]) -> Callable[..., None]:
    """Give a command the filter options; it receives the ones given as `filters`."""
    signature = inspect.signature(command, eval_str=True)
    own = [p for p in signature.parameters.values() if p.name != "filters"]
    options = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation)
        for name, annotation in _FILTER_OPTIONS
    ]

    @functools.wraps(command)
    def with_filters(*args: Any, **kwargs: Any) -> None:
        given = {name: kwargs.pop(name) for name, _ in _FILTER_OPTIONS}
        filters = typing.cast(Filters, {k: v for k, v in given.items() if v is not None})
        command(*args, filters=filters, **kwargs)

    with_filters.__signature__ = signature.replace(parameters=[*own, *options])  # type: ignore[attr-defined]
    return with_filters


@contextmanager
def _errors() -> Iterator[None]:
    """API and input errors become one line on stderr and exit status 1."""
    try:
        yield
    except (ThreeDCartError, CLIError, ValueError, TypeError, OSError) as exc:
        name = "" if isinstance(exc, CLIError | ValueError | TypeError) else f"{type(exc).__name__}: "
        err.print(f"error: {name}{exc}", markup=False)
        raise typer.Exit(1) from None


# --- output ------------------------------------------------------------------------------------
def _row(customer: Customer) -> dict[str, Any]:
    return customer.to_dict()


def _csv_row(customer: Customer) -> dict[str, Any]:
    return {k: str(v).lower() if isinstance(v, bool) else v for k, v in customer.to_dict().items()}


def _write_csv_header(stream: TextIO) -> csv.DictWriter[str]:
    writer = csv.DictWriter(stream, fieldnames=FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    return writer


def _emit(customers: list[Customer], fmt: Format) -> None:
    if fmt is Format.json:
        out.print(json.dumps([_row(c) for c in customers], indent=2, ensure_ascii=False), markup=False)
    elif fmt is Format.jsonl:
        for c in customers:
            out.print(json.dumps(_row(c), ensure_ascii=False), markup=False)
    elif fmt is Format.csv:
        buffer = io.StringIO()
        writer = _write_csv_header(buffer)
        writer.writerows(_csv_row(c) for c in customers)
        sys.stdout.write(buffer.getvalue())
    else:
        table = Table()
        table.add_column("CustomerID", no_wrap=True, justify="right")
        table.add_column("Email", no_wrap=True, overflow="fold")
        for title in ("First name", "Last name", "City", "State", "Country", "Group"):
            table.add_column(title)
        for c in customers:
            d = _row(c)
            table.add_row(
                *(
                    "" if d.get(k) is None else str(d.get(k))
                    for k in (
                        "CustomerID",
                        "Email",
                        "BillingFirstName",
                        "BillingLastName",
                        "BillingCity",
                        "BillingState",
                        "BillingCountry",
                        "CustomerGroupID",
                    )
                )
            )
        out.print(table)


def _progress(label: str) -> Progress:
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


# --- commands -----------------------------------------------------------------------------------
@customers_app.command("count")
@_with_filters
def count_cmd(
    ctx: typer.Context,
    *,
    filters: Filters,
) -> None:
    """How many customers match.

    Example: threedcart customers count --state FL --updated-since 2026-11-01
    """
    with _errors(), _store(ctx) as store:
        out.print(store.customers.count(**filters))


@customers_app.command("list")
@_with_filters
def list_cmd(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Page size (1..500).")] = 20,
    offset: Annotated[int, typer.Option(min=1, help="1-based start position.")] = 1,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
    *,
    filters: Filters,
) -> None:
    """One page of customers.

    Example: threedcart customers list --state TX --limit 10 --format table
    """
    with _errors(), _store(ctx) as store:
        _emit(store.customers.list(limit=limit, offset=offset, **filters), fmt)


@customers_app.command("get")
def get_cmd(
    ctx: typer.Context,
    customer_id: Annotated[int, typer.Argument(min=1, help="CustomerID.")],
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.json,
) -> None:
    """One customer by id.

    Example: threedcart customers get 42 --format json
    """
    with _errors(), _store(ctx) as store:
        customer = store.customers.get(customer_id)
        if fmt is Format.table:
            table = Table("Field", "Value")
            for key, value in _row(customer).items():
                table.add_row(key, "" if value is None else str(value))
            out.print(table)
        elif fmt is Format.json:
            out.print(json.dumps(_row(customer), indent=2, ensure_ascii=False), markup=False)
        else:
            _emit([customer], fmt)


def _read_one(source: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise CLIError(f"cannot read {source}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CLIError(f"{source} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise CLIError(f"{source} must hold one JSON object (a customer)")
    return data


FileArg = Annotated[str, typer.Argument(help="A JSON file holding one customer, or - for stdin.")]


@customers_app.command("create")
def create_cmd(ctx: typer.Context, source: FileArg) -> None:
    """Create a customer from JSON; prints the new CustomerID.

    Example: echo '{"Email": "ann@example.com"}' | threedcart customers create -
    """
    with _errors(), _store(ctx) as store:
        out.print(store.customers.create(_read_one(source)))


@customers_app.command("update")
def update_cmd(
    ctx: typer.Context,
    customer_id: Annotated[int, typer.Argument(min=1, help="CustomerID.")],
    source: FileArg,
) -> None:
    """Change the fields given in JSON of one customer.

    Example: echo '{"BillingCity": "Tampa"}' | threedcart customers update 42 -
    """
    with _errors(), _store(ctx) as store:
        store.customers.update(customer_id, _read_one(source))
        out.print(f"updated {customer_id}")


@customers_app.command("delete")
def delete_cmd(
    ctx: typer.Context,
    customer_id: Annotated[int, typer.Argument(min=1, help="CustomerID.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete one customer.

    Example: threedcart customers delete 42 --yes
    """
    with _errors():
        if not yes and not typer.confirm(f"Delete customer {customer_id}?", err=True):
            raise CLIError("not deleted")
        with _store(ctx) as store:
            store.customers.delete(customer_id)
            out.print(f"deleted {customer_id}")


def _write_stream(
    customers: Iterable[Customer], stream: TextIO, fmt: FileFormat, advance: Callable[[], None]
) -> int:
    n = 0
    if fmt is FileFormat.csv:
        writer = _write_csv_header(stream)
        for c in customers:
            writer.writerow(_csv_row(c))
            n += 1
            advance()
    else:
        for c in customers:
            stream.write(json.dumps(_row(c), ensure_ascii=False))
            stream.write("\n")
            n += 1
            advance()
    return n


def _format_of(path: Path, given: FileFormat | None) -> FileFormat:
    if given is not None:
        return given
    return FileFormat.csv if path.suffix.lower() == ".csv" else FileFormat.jsonl


@contextmanager
def _atomic_output(path: Path) -> Iterator[TextIO]:
    """A file that appears under `path` only once completely written and on disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _export(
    store: Store, filters: Filters, output: Path, fmt: FileFormat, concurrency: int, label: str
) -> int:
    total = store.customers.count(**filters)
    started = time.perf_counter()
    with _progress(label) as progress, _atomic_output(output) as stream:
        task = progress.add_task(label, total=total)
        n = _write_stream(
            store.customers.iter(concurrency=concurrency, **filters),
            stream,
            fmt,
            lambda: progress.advance(task),
        )
    seconds = time.perf_counter() - started
    rate = n / seconds if seconds > 0 else float(n)
    out.print(f"exported {n} customers to {output} in {seconds:.1f} s ({rate:,.0f} customers/s)")
    return n


@customers_app.command("export")
@_with_filters
def export_cmd(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    fmt: Annotated[
        FileFormat | None, typer.Option("--format", help="jsonl or csv (default: from the suffix).")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=32, help="Pages fetched at once.")] = 4,
    *,
    filters: Filters,
) -> None:
    """Stream every matching customer to a file, with a progress bar on stderr.

    Example: threedcart customers export --output customers.jsonl --concurrency 4
    """
    with _errors(), _store(ctx) as store:
        _export(store, filters, output, _format_of(output, fmt), concurrency, "export")


Row = tuple[int, dict[str, Any] | str, str]
"""(row number, the customer or why it cannot be read, the CustomerID as written)."""


def _read_rows(path: Path, fmt: FileFormat) -> Iterator[Row]:
    """The rows of an import file, lazily."""
    with path.open(encoding="utf-8", newline="") as stream:
        if fmt is FileFormat.csv:
            for number, record in enumerate(csv.DictReader(stream), start=2):  # row 1 is the header
                written_id = str(record.get("CustomerID") or "")
                try:
                    unknown = [k for k in record if k not in KINDS]
                    if unknown:
                        raise ValueError(f"unknown column(s) {', '.join(map(str, unknown))}")
                    yield (
                        number,
                        {k: _parse_cell(k, v) for k, v in record.items() if v not in ("", None)},
                        written_id,
                    )
                except ValueError as exc:
                    yield number, str(exc), written_id
        else:
            for number, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                try:
                    data = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield number, f"not valid JSON: {exc.msg}", ""
                    continue
                if not isinstance(data, dict):
                    yield number, "not a JSON object", ""
                    continue
                yield number, data, str(data.get("CustomerID") or "")


@customers_app.command("import")
def import_cmd(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(help="JSONL or CSV of customers, each with its CustomerID.")],
    fmt: Annotated[
        FileFormat | None, typer.Option("--format", help="jsonl or csv (default: from the suffix).")
    ] = None,
    errors_to: Annotated[
        Path | None, typer.Option("--errors", help="Write the failure report here (CSV).")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=500, help="Customers per bulk request.")] = 500,
) -> None:
    """Bulk-update customers from a file; report every row that failed. Exit 1 if any did.

    Example: threedcart customers import changes.csv --errors failures.csv
    """
    with _errors():
        if not source.is_file():
            raise CLIError(f"{source} does not exist")
        file_format = _format_of(source, fmt)
        failures: list[tuple[int, str, str]] = []  # (row, id, message)
        rows: list[int] = []  # input position -> file row, for the rows sent
        total_rows = sum(1 for _ in _read_rows(source, file_format))

        with _store(ctx) as store, _progress("import") as progress:
            task = progress.add_task("import", total=total_rows)

            def sendable() -> Iterator[dict[str, Any]]:
                for number, row, written_id in _read_rows(source, file_format):
                    progress.advance(task)
                    if isinstance(row, str):
                        failures.append((number, written_id, row))
                        continue
                    cid = row.get("CustomerID")
                    if not isinstance(cid, int) or isinstance(cid, bool) or cid < 1:
                        failures.append((number, written_id, "missing or invalid CustomerID"))
                        continue
                    rows.append(number)
                    yield row

            result = store.customers.update_many(sendable(), batch_size=batch_size)
        for failure in result.failed:
            failures.append((rows[failure.index], str(failure.customer_id), failure.message))
        failures.sort()
        _report(failures, errors_to)
        out.print(f"updated {len(result.updated)} customers; {len(failures)} rows failed")
        if failures:
            raise typer.Exit(1)


def _report(failures: list[tuple[int, str, str]], path: Path | None) -> None:
    if path is not None:
        with path.open("w", encoding="utf-8", newline="") as stream:
            writer = csv.writer(stream, lineterminator="\n")
            writer.writerow(["row", "CustomerID", "message"])
            writer.writerows(failures)
        return
    for row, cid, message in failures:
        err.print(f"row {row}: CustomerID {cid or '-'}: {message}", markup=False)


@customers_app.command("sync")
def sync_cmd(
    ctx: typer.Context,
    state_file: Annotated[
        Path, typer.Option("--state", help="JSON file keeping the watermark between runs.")
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: beside --state).")
    ] = None,
    fmt: Annotated[
        FileFormat | None, typer.Option("--format", help="jsonl or csv (default: from the suffix).")
    ] = None,
    lag: Annotated[
        float,
        typer.Option(
            min=MIN_LAG, help="Seconds of the store's clock left to settle before the window closes."
        ),
    ] = DEFAULT_LAG,
    concurrency: Annotated[int, typer.Option(min=1, max=32, help="Pages fetched at once.")] = 4,
) -> None:
    """Export the customers updated since the last sync, then advance the watermark.

    Each run exports the window [watermark, store clock - lag], checks that it is complete,
    and only then writes the output and moves the watermark. A run that cannot prove its
    window complete writes FILE.incomplete, keeps the watermark and exits 1.

    Example: threedcart customers sync --state sync-state.json
    """
    with _errors(), _store(ctx) as store:
        since = _read_watermark(state_file, store.store_tz)
        run = store.customers.sync(since, lag=lag, concurrency=concurrency)
        started = time.perf_counter()
        folder = (output or state_file).parent
        with _progress("sync") as progress, _deferred_output(folder) as sink:
            task = progress.add_task("sync", total=None)

            def advance() -> None:
                if progress.tasks[0].total is None and run.estimate is not None:
                    progress.update(task, total=run.estimate)
                progress.advance(task)

            # the window (and so the default file name) is known once the first answer came
            n = _write_stream(run, sink.stream, _format_of(output or Path("x.jsonl"), fmt), advance)
            window = run.window
            if window is None:
                sink.discard()
                out.print("nothing to sync yet")
                return
            target = output or state_file.with_name(
                f"{state_file.stem}-{window.until.astimezone(UTC):%Y%m%dT%H%M%SZ}.jsonl"
            )
            sink.keep(target if run.complete else target.with_name(target.name + ".incomplete"))
        seconds = time.perf_counter() - started
        if not run.complete:
            raise CLIError(
                f"sync incomplete: {run.reason}; {n} customers written to {sink.path}; "
                f"the watermark stays at {since.isoformat() if since else 'the beginning'}"
            )
        assert run.next_since is not None
        _write_watermark(state_file, run.next_since, target, window)
        out.print(
            f"exported {n} customers to {target} in {seconds:.1f} s (window {window.describe()}, "
            f"{run.passes} reading(s)); next run from {run.next_since.isoformat()}"
        )


class _Sink:
    """A temporary file that becomes `keep()`'s path once complete and on disk, or disappears."""

    def __init__(self, stream: TextIO, tmp: Path) -> None:
        self.stream, self.tmp = stream, tmp
        self.path: Path | None = None

    def keep(self, path: Path) -> None:
        self.path = path

    def discard(self) -> None:
        self.path = None


@contextmanager
def _deferred_output(folder: Path) -> Iterator[_Sink]:
    """Like `_atomic_output`, for a file in `folder` whose name is chosen once it is written."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".threedcart-sync.", dir=folder)
    sink = _Sink(os.fdopen(fd, "w", encoding="utf-8", newline=""), Path(tmp))
    try:
        with sink.stream:
            yield sink
            sink.stream.flush()
            os.fsync(sink.stream.fileno())
        if sink.path is None:
            sink.tmp.unlink(missing_ok=True)
        else:
            os.replace(sink.tmp, sink.path)
    except BaseException:
        sink.tmp.unlink(missing_ok=True)
        raise


def _read_watermark(path: Path, tz: tzinfo) -> datetime | None:
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        return parse_watermark(state["next_since"], tz)
    except (ValueError, KeyError, TypeError) as exc:
        raise CLIError(f"{path} is not a sync state file ({exc})") from None


def _write_watermark(path: Path, next_since: datetime, output: Path, window: SyncWindow) -> None:
    state = {
        "next_since": next_since.isoformat(),
        "last_window": {
            "since": window.since.isoformat() if window.since else None,
            "until": window.until.isoformat(),
        },
        "last_output": str(output),
    }
    with _atomic_output(path) as stream:
        json.dump(state, stream, indent=2)


def main() -> None:
    """Entry point of the `threedcart` console script."""
    app()


if __name__ == "__main__":
    main()
