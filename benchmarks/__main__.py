"""`make bench`: run the benchmarks against mocks on 127.0.0.1, then write RESULTS.md and the chart.

python -m benchmarks                   # all
python -m benchmarks overhead decode   # some
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

HERE = Path(__file__).parent
RESULTS = HERE / "results"
ORDER = (
    "overhead",
    "export",
    "concurrency",
    "decode",
    "scale",
    "mock",
    "ratelimit",
    "chaos",
    "shared_ratelimit",
    "mirror",
)
FILES = {"mock": "mock_throughput"}


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{FILES.get(name, name)}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _rows() -> list[tuple[str, str, str, str]]:
    rows = []
    if r := _load("overhead"):
        rows.append(
            (
                "1. per-call overhead, SDK/raw",
                f"{r['ratio_sdk_over_raw']} ({r['sdk_ms_per_call']} vs {r['raw_ms_per_call']} ms)",
                "≤ 1.10",
                _verdict(r["ratio_sdk_over_raw"] <= 1.10),
            )
        )
    if r := _load("export"):
        rows.append(
            (
                "2. export throughput, SDK / raw+models",
                f"{r['throughput_sdk_over_raw_models']} ({r['sdk_customers_per_s']:,} vs {r['raw_models_customers_per_s']:,} customers/s)",
                "≥ 0.90",
                _verdict(r["throughput_sdk_over_raw_models"] >= 0.90),
            )
        )
        rows.append(
            (
                "2. export throughput, SDK / raw JSON only",
                f"{r['throughput_sdk_over_raw_json']} ({r['raw_json_customers_per_s']:,} customers/s raw)",
                "(the model layer's cost)",
                "",
            )
        )
    if r := _load("concurrency"):
        s8 = r["speedup_over_1"]["8"]
        rows.append(
            (
                "3. concurrency 8 speed-up (100 ms latency)",
                f"{s8}× ({', '.join(f'{k}: {v}×' for k, v in r['speedup_over_1'].items())})",
                "≥ 5×",
                _verdict(s8 >= 5),
            )
        )
    if r := _load("decode"):
        rows.append(
            (
                "4. decode, models / json.loads",
                f"{r['ratio_models_over_json_loads']} ({r['models_ms_per_page']} vs {r['json_loads_ms_per_page']} ms per 500)",
                "≤ 1.3",
                _verdict(r["ratio_models_over_json_loads"] <= 1.3),
            )
        )
    if r := _load("scale"):
        us = ", ".join(f"{int(k):,}: {v} µs" for k, v in r["us_per_customer"].items())
        rows.append(
            (
                "5. per-customer export time, largest / smallest",
                f"{r['ratio_largest_over_smallest']} ({us})",
                "≤ 1.5",
                _verdict(r["ratio_largest_over_smallest"] <= 1.5),
            )
        )
        if r.get("cli_export"):
            c = r["cli_export"]
            rows.append(
                (
                    f"5. CLI export peak memory at {c['customers']:,}",
                    f"{c['peak_rss_mb']} MB ({c['seconds']} s)",
                    "< 200 MB",
                    _verdict(c["peak_rss_mb"] < 200),
                )
            )
    if r := _load("mock"):
        rows.append(
            (
                "6. mock get-by-id, sequential",
                f"{r['get_by_id_sequential_rps']:,} req/s",
                "≥ 1,500",
                _verdict(r["get_by_id_sequential_rps"] >= 1500),
            )
        )
        rows.append(("6. mock get-by-id, 16 clients", f"{r['get_by_id_16_clients_rps']:,} req/s", "", ""))
        rows.append(
            (
                "6. mock 500-customer page, sequential / 16 clients",
                f"{r['page_of_500_sequential_rps']:,} / {r['page_of_500_16_clients_rps']:,} req/s",
                "",
                "",
            )
        )
    if r := _load("ratelimit"):
        ok = r["ratio_over_bound"] <= 1.05 and r["answers_429"] == 0
        rows.append(
            (
                "7. 100k export through the bucket, time / bound",
                f"{r['ratio_over_bound']} ({r['seconds']} s vs {r['bucket_bound_seconds']} s), {r['answers_429']} × 429",
                "≤ 1.05, zero 429",
                _verdict(ok),
            )
        )
    if r := _load("chaos"):
        ok = r["untouched_missing"] == 0 and r["duplicates"] == 0
        rows.append(
            (
                f"8. {r['customers'] // 1000}k export while a writer changes the store (concurrency {r['concurrency']})",
                f"completeness {r['completeness']} ({r['untouched_missing']} untouched missing, {r['duplicates']} duplicates, "
                f"{r['writes_during_exports']} writes in {len(r['rounds'])} exports); throughput {r['throughput_busy_over_quiet']} of a quiet export "
                f"({r['busy_customers_per_s']:,} vs {r['quiet_customers_per_s']:,} customers/s)",
                "completeness 1.0, 0 duplicates",
                _verdict(ok),
            )
        )
    if r := _load("shared_ratelimit"):
        sh, lo = r["shared"], r["in_process_only"]
        ok = sh["ratio_over_bound"] <= 1.05 and sh["answers_429"] == 0
        startup = (
            f"; {sh['seconds_with_startup']} s with process start-up" if "seconds_with_startup" in sh else ""
        )
        rows.append(
            (
                f"9. {r['processes']} processes × {r['customers_per_process'] // 1000}k through one bucket shared on Redis, time / bound of the {r['pages']} pages",
                f"{sh['ratio_over_bound']} ({sh['seconds']} s vs {r['bucket_bound_seconds']} s{startup}), {sh['answers_429']} × 429; "
                f"in-process throttles only: {lo['seconds']} s, {lo['answers_429']} × 429, "
                f"{lo.get('processes_failed', 0)} of {r['processes']} processes out of retries",
                "≤ 1.05, zero 429",
                _verdict(ok),
            )
        )
        if "ratio_over_requests_bound" in sh:
            rows.append(
                (
                    f"9. the same, time / bound of the {r['requests']} requests really sent",
                    f"{sh['ratio_over_requests_bound']} ({sh['seconds']} s vs {r['requests_bound_seconds']} s): "
                    "pages overlap by one record (data safety)"
                    + (
                        ", and each process asks the count once"
                        if r.get("concurrency_per_process", 4) > 1
                        else ""
                    ),
                    "(what is sent)",
                    "",
                )
            )
    if r := _load("mirror"):
        rows += _mirror_rows(r)
    return rows


def _mirror_rows(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """10. the mirror (benchmarks/bench_mirror.py)."""
    rows = []
    n = f"{r['customers'] // 1000}k"
    if lim := r.get("rate_limited"):
        s = lim["seconds"]
        ok = max(lim["duckdb_over_export"], lim["postgres_over_export"]) <= 1.2
        rows.append(
            (
                f"10. first mirror of {n}, rate limit on ({lim['latency_ms']} ms), / export",
                f"DuckDB {lim['duckdb_over_export']}, PostgreSQL {lim['postgres_over_export']} "
                f"({s['duckdb']} s, {s['postgres']} s vs {s['export']} s)",
                "≤ 1.2",
                _verdict(ok),
            )
        )
    u = r["unlimited"]
    s = u["seconds"]
    rows.append(
        (
            f"10. first mirror of {n}, no rate limit, / export",
            f"DuckDB {u['duckdb_over_export']}, PostgreSQL {u['postgres_over_export']} "
            f"({s['duckdb']} s, {s['postgres']} s vs {s['export']} s)",
            "(the loader's own cost)",
            "",
        )
    )
    inc = r["incremental_1000_changed_seconds"]
    rows.append(
        (
            f"10. incremental mirror, 1,000 of {n} changed",
            f"DuckDB {inc['duckdb']} s, PostgreSQL {inc['postgres']} s",
            "",
            "",
        )
    )
    if m := r.get("memory"):
        tenths = m.get("rss_mb_highest_by_tenth")
        over_the_run = f"; resident MB, highest of each tenth of the run: {tenths}" if tenths else ""
        rows.append(
            (
                f"10. mirror peak memory at {m['customers']:,} (CLI, DuckDB)",
                f"{m['peak_rss_mb']} MB ({m['seconds']} s{over_the_run})",
                "< 300 MB at 1,000,000",
                _verdict(m["customers"] >= 1_000_000 and m["peak_rss_mb"] < 300),
            )
        )
    return rows


def _chart() -> str | None:
    scale, conc = _load("scale"), _load("concurrency")
    if not scale and not conc:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    if scale:
        sizes = [int(k) for k in scale["us_per_customer"]]
        axes[0].plot(sizes, list(scale["us_per_customer"].values()), marker="o")
        axes[0].set_xscale("log")
        axes[0].set_ylim(bottom=0)
        axes[0].set_xlabel("customers in the store")
        axes[0].set_ylabel("export time per customer (µs)")
        axes[0].set_title("Scale: export cost per customer")
    if conc:
        levels = [int(k) for k in conc["speedup_over_1"]]
        axes[1].plot(levels, list(conc["speedup_over_1"].values()), marker="o", label="measured")
        axes[1].plot(levels, levels, linestyle="--", label="ideal")
        axes[1].set_xlabel("concurrency")
        axes[1].set_ylabel("speed-up over 1")
        axes[1].set_title(f"Concurrency at {conc['latency_ms']} ms latency")
        axes[1].legend()
    fig.tight_layout()
    path = RESULTS / "scaling.png"
    fig.savefig(path, dpi=100)
    return path.name


def write_report() -> None:
    rows = _rows()
    chart = _chart()
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`python -m benchmarks`): every figure is a median of repeated runs against a",
        "mock on 127.0.0.1 started by the harness; every ratio compares contenders measured in the same run,",
        "alternating their order. Raw figures: `benchmarks/results/*.json`.",
        "",
        "| benchmark | figure | target | |",
        "|---|---|---|---|",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
        "",
    ]
    if chart:
        lines += [f"![scaling](results/{chart})", ""]
    notes = HERE / "NOTES.md"
    if notes.exists():
        lines += [notes.read_text()]
    (HERE / "RESULTS.md").write_text("\n".join(lines))
    print("\n".join(lines))


def main(argv: list[str]) -> int:
    if argv == ["--report"]:
        write_report()
        return 0
    chosen = argv or list(ORDER)
    unknown = set(chosen) - set(ORDER)
    if unknown:
        print(f"unknown benchmark(s) {', '.join(sorted(unknown))}; choose from {', '.join(ORDER)}")
        return 2
    for name in ORDER:
        if name in chosen:
            print(f"\n== {name}", flush=True)
            importlib.import_module(f"benchmarks.bench_{name}").run()
    write_report()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
