"""The commands of `threedcart`: options in, one call of the SDK, output out."""

from __future__ import annotations

import codecs
import csv
import functools
import getpass
import inspect
import io
import json
import os
import re
import signal
import sys
import time
import typing
import warnings
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from threedcart_customers_client.models import Customer
from threedcart_customers_client.spec import LIST_FILTERS

from .. import _secrets
from .._bulk import partial_result
from .._client import Store, configured_zone, store_zone
from .._constants import ENV_BASE_URL, ENV_PRIVATE_KEY, ENV_SECURE_URL, ENV_STORE_TIMEZONE, ENV_TOKEN
from .._pagination import export_needs_changes, export_problem
from .._params import STORE_TIME_FORMAT, UPDATED_SINCE, UPDATED_UNTIL, Filters, query_params, store_time
from .._rows import (
    FIELDS,
    ImportEncodingError,
    ImportFileError,
    ImportFormat,
    ImportTally,
    RowFailure,
    is_json_object,
    read_rows,
)
from .._sync import DEFAULT_LAG, DEFAULT_MAX_CLOCK_SKEW, MIN_LAG, SyncWindow, local_range, parse_watermark
from ..errors import ThreeDCartError
from ._output import (
    Sink,
    atomic_output,
    clean,
    closed_stdout,
    csv_row,
    deferred_output,
    install_signal_handlers,
    json_line,
    log_verbosely,
    say_error,
    stdout_stream,
)

app = typer.Typer(
    name="threedcart",
    help="Work with a 3dcart (Shift4Shop) store's customers from the shell.\n\n"
    f"Credentials come from {ENV_SECURE_URL}, {ENV_PRIVATE_KEY} and {ENV_TOKEN} "
    f"(and optionally {ENV_BASE_URL}), or from the options below; the private key and the token "
    "best from a file (--private-key-file, --token-file), never on the command line.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help is plain text: [brackets] stay, and click wraps it at the terminal's width
)
customers_app = typer.Typer(
    help="Count, list, export, import and sync customers.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(customers_app, name="customers")

# Rich draws tables and progress bars only; customer data reaches them as `Text` (never markup).
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
out = Console(highlight=False, soft_wrap=True, emoji=False)

FIELD_NAMES = list(FIELDS)
CHUNK = 1 << 16


class Format(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


FileFormat = ImportFormat
# Options that several commands share (sync, export, mirror): declared once.
LagOpt = Annotated[
    float,
    typer.Option(min=MIN_LAG, help="Seconds of the store's clock left to settle before the window closes."),
]
ClockSkewOpt = Annotated[
    float,
    typer.Option(
        min=MIN_LAG,
        help="Seconds the store's Date may differ from this machine's clock before the run is "
        "refused (inf: never compare, trust the store's clock).",
    ),
]
ConcurrencyOpt = Annotated[int, typer.Option(min=1, max=32, help="Pages fetched at once.")]
ColumnsOpt = Annotated[
    str | None,
    typer.Option(
        "--columns",
        help="Fields to show, comma-separated API names in the order wanted, in every format (default: "
        "a table of what fits the terminal, every field in the other formats).",
    ),
]


class BlanksChoice(StrEnum):
    keep = "keep"
    clear = "clear"


class CLIError(Exception):
    """An error the CLI reports in one line, exiting with status 1."""


def _print(text: str) -> None:
    sys.stdout.write(text + "\n")


# --- options shared by the commands ------------------------------------------------------------
SecureUrlOpt = Annotated[str | None, typer.Option("--secure-url", help=f"Store URL (env {ENV_SECURE_URL})")]
PrivateKeyOpt = Annotated[
    str | None,
    typer.Option(
        "--private-key",
        help=f"Private key. Every user of this machine can read it in the process list: prefer env "
        f"{ENV_PRIVATE_KEY} or --private-key-file.",
    ),
]
TokenOpt = Annotated[
    str | None,
    typer.Option(
        "--token",
        help=f"Token. Every user of this machine can read it in the process list: prefer env "
        f"{ENV_TOKEN} or --token-file.",
    ),
]
PrivateKeyFileOpt = Annotated[
    str | None,
    typer.Option(
        "--private-key-file",
        metavar="PATH",
        help="Read the private key from this file (its first line), or - for one line of standard input.",
    ),
]
TokenFileOpt = Annotated[
    str | None,
    typer.Option(
        "--token-file",
        metavar="PATH",
        help="Read the token from this file (its first line), or - for one line of standard input.",
    ),
]
BaseUrlOpt = Annotated[
    str | None, typer.Option("--base-url", help=f"API scheme and host (env {ENV_BASE_URL})")
]
RetriesOpt = Annotated[int, typer.Option("--max-retries", min=0, help="Retries of a failed request.")]
StoreTimezoneOpt = Annotated[
    str | None,
    typer.Option(
        "--store-timezone",
        help=f"The store's time zone, an IANA name such as America/Chicago (env {ENV_STORE_TIMEZONE}; "
        "default America/New_York).",
    ),
]

GroupOpt = Annotated[
    int | None, typer.Option("--group-id", min=0, help="Customer group.", rich_help_panel="Filters")
]
RawCsvOpt = Annotated[
    bool,
    typer.Option(
        "--raw-csv",
        help="CSV cells exactly as stored: no ' before text starting with = + - @ (spreadsheet formulas).",
    ),
]


class _Ctx:
    secure_url: str | None = None
    private_key: str | None = None
    token: str | None = None
    private_key_file: str | None = None
    token_file: str | None = None
    base_url: str | None = None
    max_retries: int = 2
    store_timezone: str | None = None


def _print_version(value: bool) -> None:
    if value:
        from .. import API_VERSION, __version__

        typer.echo(f"threedcart {__version__} (API contract {API_VERSION})")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    secure_url: SecureUrlOpt = None,
    private_key: PrivateKeyOpt = None,
    token: TokenOpt = None,
    private_key_file: PrivateKeyFileOpt = None,
    token_file: TokenFileOpt = None,
    base_url: BaseUrlOpt = None,
    max_retries: RetriesOpt = 2,
    store_timezone: StoreTimezoneOpt = None,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Log the SDK (DEBUG) and every request (never its credentials) to stderr."
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the SDK's version and the API contract's, then exit.",
        ),
    ] = False,
) -> None:
    if verbose:
        log_verbosely()
    settings = _Ctx()
    settings.secure_url, settings.private_key, settings.token = secure_url, private_key, token
    settings.private_key_file, settings.token_file = private_key_file, token_file
    _warn_of_visible_secrets(private_key, token)
    settings.base_url, settings.max_retries = base_url, max_retries
    settings.store_timezone = store_timezone
    ctx.obj = settings


def _warn_of_visible_secrets(private_key: str | None, token: str | None) -> None:
    """A warning on stderr for each credential given on the command line (never its value)."""
    _secrets.register([private_key, token])  # scrubbed from whatever is printed from here on
    for option, value, env in (
        ("--private-key", private_key, ENV_PRIVATE_KEY),
        ("--token", token, ENV_TOKEN),
    ):
        if value is not None:
            sys.stderr.write(
                f"warning: {option} on the command line can be read by every user of this machine "
                f"(ps, /proc); use {env} or {option}-file\n"
            )


def _read_secret(option: str, source: str) -> str:
    """One credential from a file (its first line) or from one line of standard input (`-`)."""
    if source == "-":
        if sys.stdin.isatty():
            value = getpass.getpass(f"{option.removeprefix('--').removesuffix('-file')}: ")
        else:
            value = sys.stdin.readline()  # one line: the rest of standard input stays for FILE -
        where = "standard input"
    else:
        try:
            with open(source, encoding="utf-8") as stream:
                value = stream.readline()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            raise CLIError(f"{option}: cannot read {source} ({reason})") from None
        where = source
    value = value.strip()
    if not value:
        raise CLIError(f"{option}: {where} holds no credential (an empty first line)")
    _secrets.register([value])
    try:
        return _secrets.check_credential(f"{option} {where}", value)
    except ValueError as exc:
        raise CLIError(str(exc)) from None


def _credentials_from_files(s: _Ctx) -> None:
    """Fill the private key and the token from `--private-key-file`/`--token-file`, once."""
    if s.private_key_file == "-" and s.token_file == "-":
        raise CLIError("only one of --private-key-file and --token-file can read standard input (-)")
    for attr, option in (("private_key", "--private-key"), ("token", "--token")):
        source = getattr(s, f"{attr}_file")
        if source is None:
            continue
        if getattr(s, attr):
            raise CLIError(f"give {option} or {option}-file, not both")
        setattr(s, attr, _read_secret(f"{option}-file", source))
        setattr(s, f"{attr}_file", None)


def _store(ctx: typer.Context, error: Callable[[str], Exception] = CLIError, **options: Any) -> Store:
    """The store from the root options or the environment; `error` builds what a bad one raises."""
    s: _Ctx = ctx.find_root().obj
    try:
        _credentials_from_files(s)
    except CLIError as exc:
        raise error(str(exc)) from None
    overrides: dict[str, Any] = {"max_retries": s.max_retries, **options}
    for key, value, env in (
        ("secure_url", s.secure_url, ENV_SECURE_URL),
        ("private_key", s.private_key, ENV_PRIVATE_KEY),
        ("token", s.token, ENV_TOKEN),
        ("base_url", s.base_url, ENV_BASE_URL),
    ):
        if value:
            overrides[key] = value
        elif key != "base_url" and not os.environ.get(env, "").strip():
            option = key.replace("_", "-")
            also = f" or --{option}-file" if key in ("private_key", "token") else ""
            raise error(f"{env} is not set (or pass --{option}{also})")
    try:
        if s.store_timezone:
            overrides["store_timezone"] = store_zone(s.store_timezone, "--store-timezone")
        return Store.from_env(**overrides)
    except ValueError as exc:
        raise error(str(exc)) from None


_OPTION_TYPES: dict[str, type] = {"string": str, "integer": int, "number": float, "boolean": bool}


def _filter_option(name: str, spec: dict[str, Any]) -> Any:
    """The CLI option of one list filter of the spec (`LIST_FILTERS`): `--name-with-dashes`."""
    schema = spec["schema"]
    bound = {"since": "at or after", "until": "at or before"}.get(spec["match"])
    if spec["store_time"]:
        kind: Any = str
        what = "Updated" if spec["field"] == "$lastUpdate" else spec["field"]
        help_text = f"{what} {bound or 'on'} (any date)."
    elif schema.get("type") == "array":
        kind = list[_OPTION_TYPES.get(schema.get("items", {}).get("type"), str)]  # type: ignore[misc]
        help_text = f"{spec['description']} (repeat the option for several values)."
    else:
        kind = _OPTION_TYPES.get(schema.get("type"), str)
        help_text = spec["description"] or f"The API's {spec['param']} filter."
    if bound and not spec["store_time"]:
        help_text = f"{help_text} ({spec['field']} {bound} the value)."
    if spec["deprecated"]:
        help_text = f"Deprecated. {help_text}"
    flag = f"--{name.replace('_', '-')}"
    if kind is bool:  # --name / --no-name: a boolean filter can ask for false too
        flag = f"{flag}/--no-{name.replace('_', '-')}"
    option = typer.Option(flag, help=help_text, rich_help_panel="Filters")
    return Annotated[kind | None, option]


_FILTER_OPTIONS = (
    *((name, _filter_option(name, spec)) for name, spec in LIST_FILTERS.items()),
    ("group_id", GroupOpt),
)


def _as_options(message: str) -> str:
    """An SDK message with its filters named as the CLI's options (`--updated-since`)."""
    for name, _ in _FILTER_OPTIONS:
        message = re.sub(rf"\b{name}\b", "--" + name.replace("_", "-"), message)
    return message


def _with_filters(command: Callable[..., None]) -> Callable[..., None]:
    """Give a command (one with a `ctx` parameter) the filter options; it receives the ones given as
    `filters`, checked in the store's time zone."""
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
        ctx: typer.Context = signature.bind_partial(*args, **kwargs).arguments["ctx"]
        try:  # an unknown zone is the store's error, said when the command opens it
            tz: tzinfo = configured_zone(ctx.find_root().obj.store_timezone, "--store-timezone")
        except ValueError:
            tz = UTC
        try:  # what the SDK would refuse (an unreadable date, an empty range) is a usage error
            query_params(dict(filters), tz)
        except (ValueError, TypeError) as exc:
            raise typer.BadParameter(clean(_as_options(str(exc)))) from None
        command(*args, filters=filters, **kwargs)

    with_filters.__signature__ = signature.replace(parameters=[*own, *options])  # type: ignore[attr-defined]
    return with_filters


@contextmanager
def _errors() -> Generator[None, None, None]:
    """API and input errors become one line on stderr and exit status 1."""
    try:
        yield
    except BrokenPipeError:
        closed_stdout()
    except (ThreeDCartError, CLIError, ValueError, TypeError, OSError) as exc:
        name = "" if isinstance(exc, CLIError | ValueError | TypeError) else f"{type(exc).__name__}: "
        say_error(f"{name}{exc}")
        raise typer.Exit(1) from None


# --- output ------------------------------------------------------------------------------------
def _row(customer: Customer) -> dict[str, Any]:
    return customer.to_dict()


def _csv_writer(stream: TextIO, names: list[str] = FIELD_NAMES) -> csv.DictWriter[str]:
    writer = csv.DictWriter(stream, fieldnames=names, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    return writer


_TITLES = {
    "BillingFirstName": "First name",
    "BillingLastName": "Last name",
    "BillingCity": "City",
    "BillingState": "State",
    "BillingCountry": "Country",
    "CustomerGroupID": "Group",
}
DEFAULT_COLUMNS = (
    "CustomerID",
    "Email",
    "BillingFirstName",
    "BillingLastName",
    "BillingCity",
    "BillingState",
    "BillingCountry",
    "CustomerGroupID",
)
# What stays when the terminal is narrow: the id one acts on first, then who the customer is.
_PRIORITY = (
    "CustomerID",
    "Email",
    "BillingLastName",
    "BillingFirstName",
    "BillingState",
    "BillingCity",
    "BillingCountry",
    "CustomerGroupID",
)
_SHORTEST_CELL = 12  # a shortened column keeps at least this much (or its header, when longer)
_LONGEST_CELL = 32  # a column wider than this expects to be shortened in a narrow terminal


def _cell(value: Any) -> Text:
    return Text("" if value is None else clean(str(value)), no_wrap=True, overflow="ellipsis")


def _title(name: str) -> str:
    return _TITLES.get(name, name)


def fit_columns(
    widths: dict[str, int], priority: tuple[str, ...], room: int
) -> tuple[dict[str, int], tuple[str, ...]]:
    """The width of each column that fits a table `room` characters wide, and the columns left
    out. `widths` holds each column's natural width (its widest cell or header), `priority`
    orders them from the first to keep. A column is never narrower than its header (a header
    stays whole), the first is never shortened, and space beyond the minimums goes to the
    columns in priority order until each has its natural width. Once a column of up to
    `_LONGEST_CELL` characters has to be shortened, no column of lower priority is added."""
    least = {
        name: width if i == 0 else min(width, max(len(_title(name)), _SHORTEST_CELL))
        for i, (name, width) in enumerate((n, widths[n]) for n in priority)
    }
    chosen: list[str] = []
    for name in priority:  # a column that does not fit leaves room for a narrower one after it
        if not chosen or sum(least[n] for n in [*chosen, name]) + 3 * (len(chosen) + 1) + 1 <= room:
            chosen.append(name)
            if sum(min(widths[n], _LONGEST_CELL) for n in chosen) + 3 * len(chosen) + 1 > room:
                break  # columns are shortened from here: none of lower priority shortens them more
    sizes = {name: least[name] for name in chosen}
    spare = room - (sum(sizes.values()) + 3 * len(chosen) + 1)
    for name in chosen:
        grow = max(0, min(spare, widths[name] - sizes[name]))
        sizes[name] += grow
        spare -= grow
    return sizes, tuple(n for n in priority if n not in sizes)


def _table(
    customers: list[Customer], columns: tuple[str, ...], priority: tuple[str, ...], room: int, *, chosen: bool
) -> Table:
    """The table of `columns` (in that order) that fits `room` characters; columns that do not
    fit are left out by `priority` (with a note on stderr when the user `chosen` them)."""
    rows = [{name: _cell(c.to_dict().get(name)) for name in columns} for c in customers]
    natural = {name: max([len(_title(name)), *(r[name].cell_len for r in rows)]) for name in columns}
    sizes, left_out = fit_columns(natural, priority, room)
    if left_out and chosen:
        err.print(
            Text(
                f"note: {', '.join(left_out)} left out to fit {room} columns "
                "(--columns chooses; --format csv or jsonl shows every field)"
            )
        )
    shown = [name for name in columns if name in sizes]
    table = Table()
    for name in shown:
        table.add_column(
            _title(name),
            justify="right" if name == "CustomerID" else "left",
            no_wrap=True,  # and Rich's overflow, an ellipsis
            width=sizes[name],
        )
    for row in rows:
        table.add_row(*(row[name] for name in shown))
    return table


def _columns(option: str | None) -> tuple[str, ...] | None:
    """The fields `--columns` names, in its order (None: not given)."""
    if option is None:
        return None
    names = tuple(dict.fromkeys(n.strip() for n in option.split(",") if n.strip()))
    unknown = [n for n in names if n not in FIELDS]
    if unknown or not names:
        raise typer.BadParameter(
            f"unknown column(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(FIELD_NAMES)}",
            param_hint="--columns",
        )
    return names


def _emit(customers: list[Customer], fmt: Format, *, columns: tuple[str, ...] | None, raw_csv: bool) -> None:
    """`customers` in `fmt`, with only `columns` (in their order) when given."""
    if fmt is Format.table:
        shown = columns or DEFAULT_COLUMNS
        out.print(_table(customers, shown, columns or _PRIORITY, out.width, chosen=columns is not None))
        return
    names = list(columns or FIELD_NAMES)
    rows = [{name: row[name] for name in names if name in row} for row in map(_row, customers)]
    if fmt is Format.json:
        _print(json_line(rows, indent=2))
    elif fmt is Format.jsonl:
        for row in rows:
            _print(json_line(row))
    else:
        buffer = io.StringIO()
        writer = _csv_writer(buffer, names)
        writer.writerows(csv_row(row, raw=raw_csv) for row in rows)
        sys.stdout.write(buffer.getvalue())


def _progress() -> Progress:
    """A progress bar on stderr: each task's description, a bar, done of total, the time taken."""
    return Progress(
        TextColumn("{task.description}"),
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
        _print(str(store.customers.count(**filters)))


@customers_app.command("list")
@_with_filters
def list_cmd(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Page size (1..500).")] = 20,
    offset: Annotated[int, typer.Option(min=1, help="1-based start position.")] = 1,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
    columns: ColumnsOpt = None,
    raw_csv: RawCsvOpt = False,
    *,
    filters: Filters,
) -> None:
    """One page of customers.

    Example: threedcart customers list --state TX --limit 10 --columns CustomerID,Email,BillingCity
    """
    chosen = _columns(columns)
    with _errors(), _store(ctx) as store:
        page = store.customers.list(limit=limit, offset=offset, **filters)
        _emit(page, fmt, columns=chosen, raw_csv=raw_csv)


@customers_app.command("get")
def get_cmd(
    ctx: typer.Context,
    customer_id: Annotated[int, typer.Argument(min=1, help="CustomerID.")],
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.json,
    raw_csv: RawCsvOpt = False,
) -> None:
    """One customer by id.

    Example: threedcart customers get 42 --format json
    """
    with _errors(), _store(ctx) as store:
        customer = store.customers.get(customer_id)
        if fmt is Format.table:
            table = Table("Field", "Value")
            for key, value in _row(customer).items():
                table.add_row(key, _cell(value))
            out.print(table)
        elif fmt is Format.json:
            _print(json_line(_row(customer), indent=2))
        else:
            _emit([customer], fmt, columns=None, raw_csv=raw_csv)


def _read_one(source: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CLIError(f"cannot read {source}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise CLIError(f"{source} is not valid UTF-8 (byte offset {exc.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CLIError(f"{source} is not valid JSON: {exc}") from None
    if not is_json_object(data):
        raise CLIError(f"{source} must hold one JSON object (a customer)")
    return data


FileArg = Annotated[str, typer.Argument(help="A JSON file holding one customer, or - for stdin.")]


@customers_app.command("create")
def create_cmd(ctx: typer.Context, source: FileArg) -> None:
    """Create a customer from JSON; prints the new CustomerID.

    Example: echo '{"Email": "ann@example.com"}' | threedcart customers create -
    """
    with _errors(), _store(ctx) as store:
        _print(str(store.customers.create(_read_one(source))))


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
        _print(f"updated {customer_id}")


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
        if not yes and not _confirm(f"Delete customer {customer_id}?"):
            raise CLIError("not deleted")
        with _store(ctx) as store:
            store.customers.delete(customer_id)
            _print(f"deleted {customer_id}")


def _confirm(question: str) -> bool:
    """Ask on stderr, read the answer from stdin: y or yes (any case) is yes; anything else, or no
    answer at all, is no. stdout carries only results (click's confirm writes a space there)."""
    err.file.write(f"{question} [y/N]: ")
    err.file.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def _write_stream(
    customers: Iterable[Customer],
    stream: TextIO,
    fmt: FileFormat,
    advance: Callable[[], None],
    *,
    raw_csv: bool = False,
    columns: tuple[str, ...] | None = None,
) -> int:
    """Write `customers` (only `columns`, in their order, when given); returns how many."""
    names = list(columns or FIELD_NAMES)

    def rows() -> Iterator[dict[str, Any]]:
        for c in customers:
            row = _row(c)
            yield row if columns is None else {name: row[name] for name in names if name in row}

    n = 0
    if fmt is FileFormat.csv:
        writer = _csv_writer(stream, names)
        for row in rows():
            writer.writerow(csv_row(row, raw=raw_csv))
            n += 1
            advance()
    else:
        for row in rows():
            stream.write(json_line(row))
            stream.write("\n")
            n += 1
            advance()
    return n


def _format_of(path: Path, given: FileFormat | None) -> FileFormat:
    if given is not None:
        return given
    return FileFormat.csv if path.suffix.lower() == ".csv" else FileFormat.jsonl


@contextmanager
def _output_sink(output: Path) -> Generator[tuple[TextIO, Sink | None], None, None]:
    """Standard output (no sink), or a temporary file beside `output` that the sink names at the end."""
    if str(output) == "-":
        with stdout_stream() as stream:
            yield stream, None
    else:
        with deferred_output(output.parent, prefix=f".{output.name}.") as sink:
            yield sink.stream, sink


def _unwritten(output: Path, existed: bool) -> Callable[[int], str]:
    """What an export stopped after `n` customers leaves behind, in words."""
    if str(output) == "-":
        return lambda n: f"{n:,} customers were written to standard output"
    kept = "keeps its previous content" if existed else "was not written"
    return lambda n: f"{output} {kept}"


@contextmanager
def _stopped(
    what: str, done: list[int], total: int | None, left: Callable[[int], str]
) -> Generator[None, None, None]:
    """One line on stderr when a reading stops before its end (an error, Ctrl-C, SIGTERM): how
    far it got and what was (not) written; an error then exits 1, a signal 128 + its number."""
    try:
        yield
    except BrokenPipeError:
        raise
    except (ThreeDCartError, OSError) as exc:
        raise CLIError(_stop_line(what, done[0], total, _stop_reason(exc), left)) from exc
    except (KeyboardInterrupt, SystemExit) as exc:
        if not (isinstance(exc, SystemExit) and exc.code in (None, 0)):
            say_error(_stop_line(what, done[0], total, _stop_reason(exc), left))
        raise


def _stop_line(what: str, n: int, total: int | None, reason: str, left: Callable[[int], str]) -> str:
    of = "" if total is None else f" of {total:,}"
    return f"{what} stopped after {n:,}{of} customers ({clean(reason)}); {left(n)}"


EXPORT_CLOCK_MARGIN = timedelta(minutes=10)
"""How far the store's clock may be behind this machine's for the export check to stay exact."""


def _counted(store: Store, filters: Filters) -> tuple[int, datetime]:
    """The store's count of `filters`, and this machine's clock just before it was asked."""
    moment = datetime.now(UTC)
    return store.customers.count(**filters), moment


def _written_since(store: Store, filters: Filters, start: datetime, end: datetime) -> int:
    """How many customers matching `filters` were created or updated from `start` to `end` or
    later, by their store-local last-update time (more is safe: it only widens the check).

    `start` is this machine's clock, moved back by `EXPORT_CLOCK_MARGIN` for a store clock behind
    it; on a fall-back night, from the earliest local time the instants up to `end` can carry."""
    tz = store.store_tz
    low, _ = local_range(start - EXPORT_CLOCK_MARGIN, end, tz)
    assert low is not None
    since, until = filters.get(UPDATED_SINCE), filters.get(UPDATED_UNTIL)
    if until is not None and _store_local(until, tz, end_of_day=True) < low:
        return 0  # the filter's window closed before the export began: nothing can enter it
    recent: dict[str, Any] = {**filters}
    if since is None or _store_local(since, tz) < low:
        recent[UPDATED_SINCE] = low  # naive: store time
    return store.customers.count(**recent)


def _store_local(value: Any, tz: tzinfo, *, end_of_day: bool = False) -> datetime:
    return datetime.strptime(store_time(value, tz, end_of_day=end_of_day), STORE_TIME_FORMAT)


def _export(
    store: Store,
    filters: Filters,
    output: Path,
    fmt: FileFormat,
    concurrency: int,
    label: str,
    raw_csv: bool,
    columns: tuple[str, ...] | None = None,
) -> int:
    """Export, then check the number of customers against the store's counts before and after
    (`export_problem`): an export that cannot be complete never replaces `output`; it is kept
    as OUTPUT.incomplete and the command exits 1."""
    total, start = _counted(store, filters)
    started = time.perf_counter()
    problem: str | None = None
    existed = output.exists()  # (standard output, "-", keeps nothing)
    incomplete = output.with_name(output.name + ".incomplete")
    written = [0]
    with (
        _stopped(label, written, total, _unwritten(output, existed)),
        _progress() as progress,
        _output_sink(output) as (stream, sink),
    ):
        task = progress.add_task(label, total=total)

        def advance() -> None:
            written[0] += 1
            progress.advance(task)

        n = _write_stream(
            store.customers.iter(concurrency=concurrency, **filters),
            stream,
            fmt,
            advance,
            raw_csv=raw_csv,
            columns=columns,
        )
        after, end = _counted(store, filters)
        if export_needs_changes(n, total, after):
            problem = export_problem(n, total, after, _written_since(store, filters, start, end))
        if sink is not None:
            sink.keep(output if problem is None else incomplete)
    if problem is not None:
        if sink is None:
            raise CLIError(f"export incomplete: {problem}; {n} customers were written to standard output")
        kept = f"{output} keeps its previous export" if existed else f"{output} was not written"
        raise CLIError(f"export incomplete: {problem}; {n} customers written to {incomplete}; {kept}")
    seconds = time.perf_counter() - started
    rate = n / seconds if seconds > 0 else float(n)
    where = "standard output" if str(output) == "-" else str(output)
    summary = f"exported {n} customers to {where} in {seconds:.1f} s ({rate:,.0f} customers/s)"
    if str(output) == "-":
        sys.stderr.write(summary + "\n")  # stdout carries the data
    else:
        _print(summary)
    return n


@customers_app.command("export")
@_with_filters
def export_cmd(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write, or - for stdout.")],
    fmt: Annotated[
        FileFormat | None, typer.Option("--format", help="jsonl or csv (default: from the suffix).")
    ] = None,
    concurrency: ConcurrencyOpt = 4,
    raw_csv: RawCsvOpt = False,
    columns: ColumnsOpt = None,
    *,
    filters: Filters,
) -> None:
    """Stream every matching customer to a file, with a progress bar on stderr.

    The store counts the customers before and after the export. An export whose number cannot
    be complete by those counts (and the customers written meanwhile) never replaces the file:
    it is written to FILE.incomplete and the command exits 1.

    Example: threedcart customers export --output customers.jsonl --concurrency 4
    """
    with _errors(), _store(ctx) as store:
        _export(
            store, filters, output, _format_of(output, fmt), concurrency, "export", raw_csv, _columns(columns)
        )


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            yield chunk


@customers_app.command("import")
def import_cmd(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(help="JSONL or CSV of customers, each with its CustomerID.")],
    fmt: Annotated[
        FileFormat | None, typer.Option("--format", help="jsonl or csv (default: from the suffix).")
    ] = None,
    errors_to: Annotated[
        Path | None, typer.Option("--errors", help="Write the failure report here (CSV), always.")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=500, help="Customers per bulk request.")] = 500,
    encoding: Annotated[
        str, typer.Option("--encoding", help="The file's text encoding (a UTF-8 BOM is always accepted).")
    ] = "utf-8",
    raw_csv: RawCsvOpt = False,
    blanks: Annotated[
        BlanksChoice,
        typer.Option(
            "--blanks",
            help="What an empty CSV cell does: keep leaves the field unchanged; clear empties a text "
            "field (and nulls a nullable one), so that importing an export restores its blanks.",
        ),
    ] = BlanksChoice.keep,
) -> None:
    """Bulk-update customers from a file; report every row that failed. Exit 1 if any did.

    Every row is checked against the API's schema first; rows that break it are reported
    with their row number and never sent. A file that cannot be read as a whole (encoding,
    unknown columns, no CustomerID column, no rows) sends nothing.

    Example: threedcart customers import changes.csv --errors failures.csv
    """
    failures: list[RowFailure] = []
    try:
        with _errors():
            _import(
                ctx,
                source,
                fmt,
                batch_size,
                encoding,
                raw_csv,
                failures,
                quiet=errors_to is not None,
                blanks=blanks,
            )
    finally:
        if errors_to is not None:
            with _errors():
                _write_report(failures, errors_to)
    if failures:
        raise typer.Exit(1)


def _import(
    ctx: typer.Context,
    source: Path,
    fmt: FileFormat | None,
    batch_size: int,
    encoding: str,
    raw_csv: bool,
    failures: list[RowFailure],
    *,
    quiet: bool,
    blanks: BlanksChoice = BlanksChoice.keep,
) -> None:
    """Read, check and send; `failures` holds every failed row, also when this raises."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise CLIError(f"unknown encoding {encoding!r} (try utf-8, cp1252, latin-1, utf-16)") from None
    if not source.exists():
        raise CLIError(f"{source} does not exist")
    if not source.is_file():
        raise CLIError(f"{source} is not a file")
    file_format = _format_of(source, fmt)

    def rows() -> Iterator[Any]:
        return read_rows(
            _chunks(source),
            file_format,
            name=str(source),
            encoding=encoding,
            raw_csv=raw_csv,
            blanks=blanks.value,
        )

    try:  # read the whole file once first: a file that cannot be imported sends nothing
        total = sum(1 for _ in rows())
    except ImportEncodingError as exc:
        hint = "" if encoding.lower().replace("_", "-") != "utf-8" else "; name its encoding with --encoding"
        failures.append(RowFailure(0, "", str(exc) + hint))
        raise CLIError(str(exc) + hint) from None
    except ImportFileError as exc:
        failures.append(RowFailure(0, "", str(exc)))
        raise CLIError(str(exc)) from None

    tally = ImportTally()
    with _store(ctx) as store, _progress() as progress:
        task = progress.add_task("import", total=total)

        def advancing(items: Iterable[Any]) -> Iterator[Any]:
            for item in items:
                progress.advance(task)
                yield item

        try:
            result = store.customers.update_many(tally.sendable(advancing(rows())), batch_size=batch_size)
        except BaseException as exc:  # an API error, SIGINT/SIGTERM (as SystemExit): every row is told
            done = partial_result(exc)
            failures.extend(tally.stopped(done, rows(), _stop_reason(exc)))
            if not quiet:
                _report(failures)
            updated = 0 if done is None else len(done.updated)
            unsent = sum(1 for f in failures if f.message.startswith(("not sent", "sent, but")))
            sys.stderr.write(
                f"updated {updated} customers; {len(failures)} rows not applied ({unsent} of them never "
                f"answered or never sent); stopped: {clean(_stop_reason(exc))}\n"
            )
            raise
    failures.extend(tally.failures(result))
    if not quiet:
        _report(failures)
    _print(f"updated {len(result.updated)} customers; {len(failures)} rows failed")


def _stop_reason(exc: BaseException) -> str:
    if isinstance(exc, SystemExit) and isinstance(exc.code, int) and exc.code > 128:
        return f"signal {signal.Signals(exc.code - 128).name}"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return f"{type(exc).__name__}: {exc}"


def _report(failures: list[RowFailure]) -> None:
    for failure in failures:
        sys.stderr.write(
            clean(f"row {failure.row}: CustomerID {failure.customer_id or '-'}: {failure.message}") + "\n"
        )


def _write_report(failures: list[RowFailure], path: Path) -> None:
    with atomic_output(path) as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(["row", "CustomerID", "message"])
        writer.writerows((f.row or "", f.customer_id, f.message) for f in failures)


@customers_app.command("sync")
def sync_cmd(
    ctx: typer.Context,
    state_file: Annotated[
        Path, typer.Option("--state", help="JSON file keeping the watermark between runs.")
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="File to write; it must not exist (default: a new file beside --state for each run).",
        ),
    ] = None,
    fmt: Annotated[
        FileFormat | None, typer.Option("--format", help="jsonl or csv (default: from the suffix).")
    ] = None,
    lag: LagOpt = DEFAULT_LAG,
    max_clock_skew: ClockSkewOpt = DEFAULT_MAX_CLOCK_SKEW,
    concurrency: ConcurrencyOpt = 4,
    raw_csv: RawCsvOpt = False,
) -> None:
    """Export the customers updated since the last sync, then advance the watermark.

    Each run exports the window [watermark, store clock - lag], checks
    that it is complete, writes the output to a new file (never replacing one) and syncs it to
    disk, and only then moves the watermark. A run that cannot prove its window complete
    writes FILE.incomplete, keeps the watermark and exits 1; so does a store clock further
    than --max-clock-skew from this machine's (nothing is read). A store clock behind the
    watermark is re-read from the earlier instant, with a warning.

    Example: threedcart customers sync --state sync-state.json
    """
    with _errors(), _store(ctx) as store:
        if output is not None and str(output) == "-":
            raise CLIError("sync writes a file (it moves the watermark only once the file is complete)")
        if output is not None and output.exists():
            raise CLIError(
                f"{output} exists: sync never replaces a file (move it away, or leave out --output "
                "for a new file per run)"
            )
        since, last_skew = _read_watermark(state_file, store.store_tz)
        run = store.customers.sync(
            since,
            lag=lag,
            concurrency=concurrency,
            max_clock_skew=max_clock_skew,
            last_clock_skew=last_skew,
        )
        started = time.perf_counter()
        folder = (output or state_file).parent
        file_format = _format_of(output or Path("x.jsonl"), fmt)
        written = [0]
        stays = (
            f"nothing was written; the watermark stays at {since.isoformat() if since else 'the beginning'}"
        )
        with (
            _stopped("sync", written, None, lambda _: stays),
            _progress() as progress,
            deferred_output(folder) as sink,
        ):
            task = progress.add_task("sync", total=None)

            def advance() -> None:
                if progress.tasks[0].total is None and run.estimate is not None:
                    progress.update(task, total=run.estimate)
                written[0] += 1
                progress.advance(task)

            n = _write_stream(run, sink.stream, file_format, advance, raw_csv=raw_csv)
            # the window (and so the default file name) is known once the first answer came
            window = run.window
            if window is None:
                sink.discard()
                if run.complete is False:  # the store's clock is not sane: nothing was read
                    raise CLIError(
                        f"sync refused: {run.reason}; the watermark stays at "
                        f"{since.isoformat() if since else 'the beginning'} (fix the clock that is wrong, "
                        "or pass --max-clock-skew)"
                    )
                _print("nothing to sync yet")
                return
            name = output or state_file.with_name(
                f"{state_file.stem}-{window.until.astimezone(UTC):%Y%m%dT%H%M%SZ}.{file_format.value}"
            )
            # never replaces a file: a name already taken (a run that ended in the same store
            # second, or a file made meanwhile) becomes NAME-2, NAME-3, ...
            sink.keep(name if run.complete else name.with_name(name.name + ".incomplete"), new=True)
        # here the output is written, flushed, synced to disk and named: only now may the watermark move
        target = sink.path
        assert target is not None
        seconds = time.perf_counter() - started
        if not run.complete:
            raise CLIError(
                f"sync incomplete: {run.reason}; {n} customers written to {target}; "
                f"the watermark stays at {since.isoformat() if since else 'the beginning'}"
            )
        assert run.next_since is not None
        _write_watermark(state_file, run.next_since, target, window, run.clock_skew)
        _print(
            f"exported {n} customers to {target} in {seconds:.1f} s (window {window.describe()}, "
            f"{run.passes} reading(s)); next run from {run.next_since.isoformat()}"
        )


def _read_watermark(path: Path, tz: tzinfo) -> tuple[datetime | None, timedelta | None]:
    """The watermark a state file keeps, and the store's clock skew of the run that left it."""
    if not path.exists():
        return None, None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        skew = state.get("clock_skew")
        if skew is not None and (isinstance(skew, bool) or not isinstance(skew, int | float)):
            raise TypeError(f"clock_skew is {skew!r}, not seconds")
        return parse_watermark(state["next_since"], tz), None if skew is None else timedelta(seconds=skew)
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as exc:
        raise CLIError(f"{path} is not a sync state file ({exc})") from None


def _write_watermark(
    path: Path, next_since: datetime, output: Path, window: SyncWindow, skew: timedelta | None
) -> None:
    state = {
        "next_since": next_since.isoformat(),
        "last_window": {
            "since": window.since.isoformat() if window.since else None,
            "until": window.until.isoformat(),
        },
        "last_output": str(output),
        # the store's clock less this machine's in that run: the next run re-reads a step back
        "clock_skew": None if skew is None else skew.total_seconds(),
    }
    with atomic_output(path) as stream:
        json.dump(state, stream, indent=2)


def run() -> None:
    """Run the command line (signal handlers first, so that no temporary file outlives it)."""
    install_signal_handlers()
    # The SDK both warns and logs what it warns of (plain http, TLS off): stderr gets the log line
    # alone, not a second copy with a Python source line.
    warnings.filterwarnings("ignore", message="threedcart: ", category=UserWarning)
    app()


# `threedcart contract-check` lives in its own module, which registers itself on `app`.
from . import _contract_cmd as _contract_cmd  # noqa: E402

# `threedcart customers mirror` too, on `customers_app` (it imports dlt only when it runs).
from . import _mirror_cmd as _mirror_cmd  # noqa: E402
