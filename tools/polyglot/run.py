"""Clients of openapi/customers.yaml in other languages: generate, compile, run against the mock.

    python tools/polyglot/run.py build [CLIENT ...]   generate and compile (all clients by default)
    python tools/polyglot/run.py run CLIENT           run one built client; prints its JSON outcome
    python tools/polyglot/run.py all                  build all, run each against a fresh mock
                                                      (--bodiless-errors), check, print timings
    python tools/polyglot/run.py versions             the generators' and toolchains' versions

CLIENTS: openapi-fetch (openapi-typescript types), orval, hey-api (@hey-api/openapi-ts), java
(openapi-generator `java`, library `native`) and go (openapi-generator `go`). The TypeScript
clients are checked by `tsc` with `strict` and `exactOptionalPropertyTypes`; Java is compiled by
`javac` against Debian's Jackson jars, Go by Debian's Go, offline. `make polyglot` installs every
tool (Debian packages, requirements/polyglot.lock, tools/polyglot/package-lock.json) and runs
`all`; tests/test_polyglot.py builds and runs each client on its own.

Builds go to tools/polyglot/build/CLIENT (git-ignored). A build is skipped when nothing it is
made from changed: the spec, this folder's sources for that client, the generator's and the
toolchain's versions (a hash of all of them is kept in build/CLIENT/.stamp).

`run` reads THREEDCART_BASE_URL (a loopback URL; the clients refuse any other host),
THREEDCART_SECURE_URL, THREEDCART_PRIVATE_KEY, THREEDCART_TOKEN and POLYGLOT_EMAIL, and prints
one JSON object: `count` (countonly=1), `page` (the ids of limit=5&offset=1), `created` (the id
of a customer created with the required fields only), `email` (that customer read back),
`countAfter`, and `missing`: how the client's idiomatic error check saw a GET of a missing id
(`status`, the `check` used, and the error `body`, null when the answer had none).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SPEC = ROOT / "openapi" / "customers.yaml"
BUILD = HERE / "build"
NODE_BIN = HERE / "node_modules" / ".bin"
TS = HERE / "ts"

# Jackson and the annotations the generated Java code uses, from Debian's lib*-java packages.
JAVA_JARS = [
    Path("/usr/share/java") / name
    for name in (
        "jackson-core.jar",  # libjackson2-core-java
        "jackson-annotations.jar",  # libjackson2-annotations-java
        "jackson-databind.jar",  # libjackson2-databind-java
        "jsr305.jar",  # libjsr305-java: javax.annotation.Nullable/Nonnull
        "geronimo-annotation-1.3-spec.jar",  # libgeronimo-annotation-1.3-spec-java: @Generated
    )
]
JAVA_PROPERTIES = {
    "library": "native",
    "openApiNullable": "false",  # no jackson-databind-nullable (not in Debian); nulls are plain nulls
    # The page-or-count answer is a oneOf of an array (CustomerList) and an object (CountResult).
    # By default the Java generator inlines the array as List<Customer> and writes
    # `List<Customer>.class` into the oneOf deserializer, which does not compile (and it says
    # nothing). With generateAliasAsModel the array gets a class, CustomerList extends
    # ArrayList<Customer>, and the oneOf compiles and decodes both shapes.
    "generateAliasAsModel": "true",
    "useSingleRequestParameter": "true",  # request builders: a new query parameter breaks no call
    "invokerPackage": "com.threedcart.client",
    "apiPackage": "com.threedcart.client.api",
    "modelPackage": "com.threedcart.client.model",
    "hideGenerationTimestamp": "true",
}
GO_PROPERTIES = {"packageName": "threedcart", "withGoMod": "false", "hideGenerationTimestamp": "true"}
NO_EXTRAS = "apiTests=false,modelTests=false,apiDocs=false,modelDocs=false"
CLIENTS = ("openapi-fetch", "orval", "hey-api", "java", "go")
NOT_FOUND = "The Customer record was not found"  # the mock's 404 message for a missing id, with a body


class BuildError(RuntimeError):
    """A generator or compiler refused; the message carries its output."""


# --- helpers ------------------------------------------------------------------------------------
def _sh(cmd: Sequence[str | Path], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """Run a command; its output, or BuildError with the output."""
    full_env = {**os.environ, "NO_UPDATE_NOTIFIER": "1", "FORCE_COLOR": "0", "NO_COLOR": "1", **(env or {})}
    done = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=full_env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BuildError(f"$ {' '.join(str(c) for c in cmd)}\n{done.stdout}{done.stderr}".rstrip())
    return done.stdout + done.stderr


def _tool(path: Path | str, hint: str) -> str:
    found = shutil.which(str(path)) if not isinstance(path, Path) else (str(path) if path.exists() else None)
    if not found:
        raise BuildError(f"{path} is missing: {hint}")
    return found


def _generator() -> str:
    return _tool(
        Path(sys.executable).parent / "openapi-generator-cli",
        "run `make polyglot` (requirements/polyglot.lock)",
    )


def _node(name: str) -> str:
    return _tool(NODE_BIN / name, "run `make polyglot` (npm ci in tools/polyglot)")


def _system(name: str) -> str:
    return _tool(name, "run `make polyglot` (it installs the Debian packages)")


def _copy(names: Sequence[str], source: Path, target: Path) -> None:
    for name in names:
        shutil.copy2(source / name, target / name)


def _tsc(project: Path) -> None:
    _sh([_node("tsc"), "-p", project])


def _tsconfig(folder: Path, files: Sequence[str], **options: object) -> Path:
    """A tsconfig in `folder` that extends ts/tsconfig.base.json (strict, exactOptionalPropertyTypes)."""
    path = folder / "tsconfig.json"
    config = {"extends": str(TS / "tsconfig.base.json"), "compilerOptions": options, "files": list(files)}
    path.write_text(json.dumps(config, indent=2) + "\n")
    return path


def _generate(generator: str, spec: Path, out: Path, properties: dict[str, str]) -> None:
    props = ",".join(f"{k}={v}" for k, v in properties.items() if k != "library")
    cmd: list[str | Path] = [_generator(), "generate", "-i", spec, "-g", generator, "-o", out]
    cmd += ["--global-property", NO_EXTRAS]
    if "library" in properties:
        cmd += ["--library", properties["library"]]
    _sh([*cmd, "--additional-properties", props])


# --- the clients --------------------------------------------------------------------------------
def build_openapi_fetch(spec: Path, out: Path) -> None:
    gen = out / "gen" / "openapi-typescript"
    gen.mkdir(parents=True)
    _sh([_node("openapi-typescript"), spec, "--output", gen / "customers.d.ts"])
    _copy(["common.ts", "openapi-fetch.ts"], TS, out)
    _tsc(_tsconfig(out, ["openapi-fetch.ts"]))


def build_orval(spec: Path, out: Path) -> None:
    _copy(["common.ts", "orval-fetch.ts", "orval.ts"], TS, out)
    env = {"POLYGLOT_SPEC": str(spec), "POLYGLOT_TS_BUILD": str(out)}
    _sh([_node("orval"), "--config", TS / "orval.config.js"], env=env)
    _tsc(_tsconfig(out, ["orval.ts"]))


def build_hey_api(spec: Path, out: Path) -> None:
    gen = out / "gen" / "hey-api"
    _sh([_node("openapi-ts"), "-i", spec, "-o", gen, "-c", "@hey-api/client-fetch"])
    # The fetch runtime that hey-api 0.95.0 copies into its output (client/, core/) does not
    # compile with exactOptionalPropertyTypes (hey-api/hey-api#2363; the fix, #3157, is not
    # released). It is compiled first, as the library it would be on npm: strict, with its
    # declarations, which replace its sources. Then everything generated from the spec (types,
    # sdk) and the consumer are checked with exactOptionalPropertyTypes against those declarations.
    runtime = [str(p.relative_to(out)) for p in sorted((gen / "client").glob("*.ts"))]
    runtime += [str(p.relative_to(out)) for p in sorted((gen / "core").glob("*.ts"))]
    stage = out / "runtime"
    stage.mkdir()
    # The runtime names DOM types (BodyInit) that @types/node does not declare globally: add lib dom.
    dom = ["es2022", "dom"]
    files = [f"../{name}" for name in runtime]
    _tsc(_tsconfig(stage, files, exactOptionalPropertyTypes=False, declaration=True, lib=dom))
    for name in runtime:
        (out / name).unlink()
    _copy(["common.ts", "hey-api.ts"], TS, out)
    _tsc(_tsconfig(out, ["hey-api.ts"], lib=dom))


def _no_java_time(spec: Path) -> None:
    if re.search(r"^\s*format:\s*['\"]?(date|date-time)['\"]?\s*$", spec.read_text(encoding="utf-8"), re.M):
        raise BuildError(
            "the spec has a `format: date` or `date-time`: the jsr310 shim (java/jsr310-shim/README.md) "
            "does not read java.time values; compile against jackson-datatype-jsr310 instead"
        )


def build_java(spec: Path, out: Path) -> None:
    _no_java_time(spec)
    missing = [str(jar) for jar in JAVA_JARS if not jar.exists()]
    if missing:
        raise BuildError(
            f"missing {', '.join(missing)}: run `make polyglot` (it installs the Debian packages)"
        )
    _generate("java", spec, out / "gen", JAVA_PROPERTIES)
    sources = sorted((out / "gen" / "src" / "main" / "java").rglob("*.java"))
    sources += [*sorted((HERE / "java" / "jsr310-shim").rglob("*.java")), HERE / "java" / "Main.java"]
    classes = out / "classes"
    cp = os.pathsep.join(str(j) for j in JAVA_JARS)
    _sh([_system("javac"), "-J-XX:TieredStopAtLevel=1", "-nowarn", "-encoding", "UTF-8", "--release", "17",
         "-d", classes, "-cp", cp, *sources])  # fmt: skip


def build_go(spec: Path, out: Path) -> None:
    shim = HERE / "go" / "validator"
    env = {"GOFLAGS": "-mod=mod", "GOPROXY": "off", "GOTOOLCHAIN": "local", "CGO_ENABLED": "0"}
    go = _system("go")
    _sh([go, "test", "./..."], cwd=shim, env=env)  # the shim behaves as v2.0.1 does for the client
    _generate("go", spec, out / "threedcart", GO_PROPERTIES)
    (out / "go.mod").write_text(
        "module threedcart.polyglot/consumer\n\ngo 1.19\n\n"
        "require gopkg.in/validator.v2 v2.0.1\n\n"
        f"// Debian's golang-gopkg-validator.v2-dev is a 2016 snapshot: {shim.relative_to(ROOT)}/README.md\n"
        f"replace gopkg.in/validator.v2 => {shim}\n"
    )
    shutil.copy2(HERE / "go" / "main.go", out / "main.go")
    _sh([go, "build", "-o", out / "consumer", "."], cwd=out, env=env)


BUILDERS: dict[str, Callable[[Path, Path], None]] = {
    "openapi-fetch": build_openapi_fetch,
    "orval": build_orval,
    "hey-api": build_hey_api,
    "java": build_java,
    "go": build_go,
}
SOURCES: dict[str, list[Path]] = {
    "openapi-fetch": [TS / "tsconfig.base.json", TS / "common.ts", TS / "openapi-fetch.ts"],
    "orval": [
        TS / n for n in ("tsconfig.base.json", "common.ts", "orval-fetch.ts", "orval.ts", "orval.config.js")
    ],
    "hey-api": [TS / "tsconfig.base.json", TS / "common.ts", TS / "hey-api.ts"],
    "java": [HERE / "java" / "Main.java", *sorted((HERE / "java" / "jsr310-shim").rglob("*.java"))],
    "go": [HERE / "go" / "main.go", *sorted((HERE / "go" / "validator").glob("*"))],
}


def _version(cmd: Sequence[str]) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=60)
    except OSError:
        return "missing"
    return (done.stdout + done.stderr).strip().splitlines()[0] if done.returncode == 0 else "missing"


def _node_version(package: str) -> str:
    try:
        return str(json.loads((HERE / "node_modules" / package / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return "missing"


def versions() -> dict[str, str]:
    """What each client is generated and compiled with."""
    generator = Path(sys.executable).parent / "openapi-generator-cli"
    return {
        "openapi-generator-cli": _version([str(generator), "version"]) if generator.exists() else "missing",
        "openapi-typescript": _node_version("openapi-typescript"),
        "openapi-fetch": _node_version("openapi-fetch"),
        "orval": _node_version("orval"),
        "@hey-api/openapi-ts": _node_version("@hey-api/openapi-ts"),
        "typescript": _node_version("typescript"),
        "node": _version(["node", "--version"]),
        "javac": _version(["javac", "-version"]),
        "go": _version(["go", "version"]),
    }


def _key(client: str, spec: Path, tools: dict[str, str]) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps(tools, sort_keys=True).encode())
    for path in [spec, Path(__file__), HERE / "package-lock.json", *SOURCES[client]]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    BUILD.mkdir(exist_ok=True)
    with (BUILD / f".{folder.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def build(
    client: str, spec: Path = SPEC, tools: dict[str, str] | None = None, out: Path | None = None
) -> tuple[Path, bool]:
    """Build one client (unless its last build had the same inputs): its folder, and whether it was built.

    `out` is build/CLIENT by default; another folder must be inside tools/polyglot as well (the
    TypeScript clients find their packages in tools/polyglot/node_modules).
    """
    out = out or BUILD / client
    key = _key(client, spec.resolve(), tools if tools is not None else versions())
    with _locked(out):
        stamp = out / ".stamp"
        if stamp.exists() and stamp.read_text() == key:
            return out, False
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        BUILDERS[client](spec.resolve(), out)
        stamp.write_text(key)
    return out, True


def command(client: str, out: Path | None = None) -> list[str]:
    """The command that runs a built client."""
    out = out or BUILD / client
    if client == "java":
        cp = os.pathsep.join([str(out / "classes"), *(str(j) for j in JAVA_JARS)])
        return ["java", "-XX:TieredStopAtLevel=1", "-Xshare:auto", "-cp", cp, "Main"]
    if client == "go":
        return [str(out / "consumer")]
    return ["node", str(out / f"{client}.js")]


def run(client: str, env: dict[str, str], timeout: float = 120) -> dict[str, Any]:
    """Run a built client with `env` (THREEDCART_*, POLYGLOT_EMAIL); its JSON outcome."""
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "JAVA_HOME", "TMPDIR")}
    done = subprocess.run(
        command(client), env={**base, **env}, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{client} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    outcome: dict[str, Any] = json.loads(done.stdout)
    return outcome


def client_env(base_url: str, headers: dict[str, str], email: str) -> dict[str, str]:
    """The environment of a client run against a store (the mock's demo store: MockServer.headers)."""
    return {
        "THREEDCART_BASE_URL": base_url,
        "THREEDCART_SECURE_URL": headers["SecureURL"],
        "THREEDCART_PRIVATE_KEY": headers["PrivateKey"],
        "THREEDCART_TOKEN": headers["Token"],
        "POLYGLOT_EMAIL": email,
    }


def store_count(base_url: str, headers: dict[str, str]) -> int:
    """The store's number of customers, asked directly (the oracle a client's count is checked with)."""
    url = f"{base_url}/3dCartWebAPI/v1/Customers?countonly=1"
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as answer:
        return int(json.load(answer)["TotalCount"])


def problems(outcome: dict[str, Any], *, count: int, email: str, bodiless: bool = True) -> list[str]:
    """What in a client's outcome differs from the expected one (empty when it is right).

    `count` is the store's count just before the run; its ids are 1..count (no customer deleted).
    """
    page = list(range(1, min(count, 5) + 1))
    found = []
    if outcome.get("count") != count:
        found.append(f"count {outcome.get('count')}, expected {count}")
    if outcome.get("page") != page:
        found.append(f"page {outcome.get('page')}, expected {page}")
    if outcome.get("created") != count + 1:
        found.append(f"created id {outcome.get('created')}, expected {count + 1}")
    if outcome.get("email") != email:
        found.append(f"read back {outcome.get('email')!r}, expected {email!r}")
    if outcome.get("countAfter") != count + 1:
        found.append(f"count after create {outcome.get('countAfter')}, expected {count + 1}")
    missing = outcome.get("missing") or {}
    body = missing.get("body")
    if bodiless:
        seen = body is None
    else:  # the 404's error list, parsed
        seen = isinstance(body, list) and any(
            e.get("Message") == NOT_FOUND for e in body if isinstance(e, dict)
        )
    if missing.get("status") != 404 or not seen:
        found.append(f"the {'bodiless ' if bodiless else ''}404 was seen as {missing}")
    return found


# --- the commands -------------------------------------------------------------------------------
def _all() -> int:
    sys.path.insert(0, str(ROOT / "mock"))
    from threedcart_mock.testing import MockServer  # type: ignore[import-not-found,unused-ignore]

    tools = versions()
    print("versions: " + ", ".join(f"{k} {v}" for k, v in tools.items()), flush=True)
    failed = 0
    with MockServer(["--seed-customers", "12", "--bodiless-errors"]) as mock:
        for client in CLIENTS:
            started = time.monotonic()
            try:
                _, built = build(client, tools=tools)
            except BuildError as exc:
                print(f"FAIL {client}: build\n{exc}", flush=True)
                failed += 1
                continue
            build_s = time.monotonic() - started
            email = f"{client}@polyglot.example.com"
            count = store_count(mock.url, mock.headers)
            started = time.monotonic()
            try:
                outcome = run(client, client_env(mock.url, mock.headers, email))
            except (RuntimeError, ValueError, subprocess.TimeoutExpired) as exc:
                print(f"FAIL {client}: run\n{exc}", flush=True)
                failed += 1
                continue
            run_s = time.monotonic() - started
            wrong = problems(outcome, count=count, email=email)
            failed += bool(wrong)
            print(
                f"{'FAIL' if wrong else 'ok  '} {client:<13} {'built' if built else 'cached':<6} "
                f"{build_s:5.1f}s  run {run_s:4.1f}s  count {outcome['count']} page {outcome['page']} "
                f"created {outcome['created']}  bodiless 404 seen by `{outcome['missing']['check']}`",
                flush=True,
            )
            for line in wrong:
                print(f"     {line}", flush=True)
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="generate and compile clients")
    b.add_argument("clients", nargs="*", metavar="CLIENT", help=f"one of {', '.join(CLIENTS)} (default: all)")
    b.add_argument("--spec", type=Path, default=SPEC)
    r = sub.add_parser("run", help="run one built client (env: THREEDCART_*, POLYGLOT_EMAIL)")
    r.add_argument("client", choices=CLIENTS)
    sub.add_parser("all", help="build and run every client against the mock")
    sub.add_parser("versions", help="the generators' and toolchains' versions")
    args = parser.parse_args(argv)

    if args.command == "versions":
        print(json.dumps(versions(), indent=2))
        return 0
    if args.command == "run":
        print(json.dumps(run(args.client, dict(os.environ))))
        return 0
    if args.command == "build":
        unknown = [c for c in args.clients if c not in CLIENTS]
        if unknown:
            parser.error(f"unknown client(s) {', '.join(unknown)}; choose from {', '.join(CLIENTS)}")
        tools = versions()
        for client in args.clients or CLIENTS:
            started = time.monotonic()
            try:
                _, built = build(client, args.spec, tools)
            except BuildError as exc:
                print(f"error: {client}: {exc}", file=sys.stderr)
                return 1
            print(f"{client}: {'built' if built else 'up to date'} ({time.monotonic() - started:.1f}s)")
        return 0
    return _all()


if __name__ == "__main__":
    sys.exit(main())
