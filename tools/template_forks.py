"""Each custom generator template is a reviewed fork of one stock template of the pinned generator.

`make generate` renders generated/ with openapi-python-client and the templates in
templates/openapi-python-client/, which replace the stock templates of the same name (the
generator's documentation says custom templates are not part of its public API). Each of them is
recorded in templates/openapi-python-client/FORKS.md, and below with the sha256 of the stock
template of openapi-python-client 0.29.1 it was forked from. This check fails, naming the
template, when

- the installed generator's stock template differs from that one (a generator upgrade: review the
  fork against the new stock template, then record the new digest below and in FORKS.md);
- a custom template is not recorded here and in FORKS.md, or a recorded one no longer exists;
- a fork reads a variable or an attribute that no stock template reads, i.e. anything beyond the
  template context the generator documents by its own templates (its parser's internals), or
  inspects what a macro of another template renders (in an `if` test or a `set`) rather than
  rendering it.

`make check-generated` runs it.

    python tools/template_forks.py [--stock DIR] [--templates DIR]
    python tools/template_forks.py --digests    # the installed stock digests of the recorded forks
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import re
import sys
from pathlib import Path

import jinja2
from jinja2 import nodes

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates" / "openapi-python-client"
GENERATOR = "openapi-python-client"
PINNED = "0.29.1"

# custom template: sha256 of the stock template of openapi-python-client 0.29.1 it was forked from
FORKS: dict[str, str] = {
    "endpoint_macros.py.jinja": "58edb8b4913db6ed4863c633fb39365364494398c8156c77151c6676f1b28fee",
    "endpoint_module.py.jinja": "c1b2628053eb4875ba59566baa5ae907666f9cbfafa308d93f970a4404b7cd52",
    "model.py.jinja": "fd1c79680d51c06cfbb89809ad123750ba9add98b688036c04cabbf1f8ba40a0",
    "package_init.py.jinja": "ac15907e32dc39bd9b83ea6f2002fb87514f2182b97f88231b5a9c47321f6210",
    "pyproject_pdm.toml.jinja": "0434c8de96360da0e229a5aca5f115592d6ff215c1ccb7ad89f40b2967225f1b",
    "types.py.jinja": "93df9d75883a4eafac77dd21bc6907f3ef612e3f7841e08656618dcf6c4ce494",
}
# Jinja's own globals, which a fork may call though no stock template does
JINJA_GLOBALS = frozenset(jinja2.Environment().globals)


def installed_stock() -> Path:
    """The stock templates of the installed generator."""
    import openapi_python_client

    return Path(openapi_python_client.__file__).parent / "templates"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _ast(path: Path) -> nodes.Template:
    # as the generator's Environment parses them (`{% continue %}` needs loopcontrols)
    env = jinja2.Environment(extensions=["jinja2.ext.loopcontrols"])
    return env.parse(path.read_text(encoding="utf-8"))


def _reads(tree: nodes.Template) -> tuple[set[str], set[str]]:
    """The free variables a template reads and the attributes it reads of anything."""
    names = {n.name for n in tree.find_all(nodes.Name) if n.ctx == "load"}
    bound = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    bound |= {n.target for n in tree.find_all(nodes.Import)}
    bound |= {
        name if isinstance(name, str) else name[-1]
        for n in tree.find_all(nodes.FromImport)
        for name in n.names
    }
    bound |= {n.name for n in tree.find_all(nodes.Macro)}
    attributes = {n.attr for n in tree.find_all(nodes.Getattr)}
    # the fields of the fork's own namespace() objects are its own variables
    attributes -= {
        keyword.key
        for call in tree.find_all(nodes.Call)
        if isinstance(call.node, nodes.Name) and call.node.name == "namespace"
        for keyword in call.kwargs
    }
    return names - bound, attributes


def _inspected_macros(tree: nodes.Template) -> set[str]:
    """The macros of imported templates whose output the template tests or stores instead of rendering."""
    imported = {n.target for n in tree.find_all(nodes.Import)}
    tests: list[nodes.Node] = [n.test for n in tree.find_all(nodes.If)]
    tests += [n.test for n in tree.find_all(nodes.CondExpr)]
    tests += [n.node for n in tree.find_all(nodes.Assign)]
    return {
        f"{call.node.node.name}.{call.node.attr}"
        for test in tests
        for call in ([test] if isinstance(test, nodes.Call) else []) + list(test.find_all(nodes.Call))
        if isinstance(call.node, nodes.Getattr)
        and isinstance(call.node.node, nodes.Name)
        and call.node.node.name in imported
    }


def check(stock: Path, templates: Path) -> list[str]:
    """What is wrong, one line per problem naming its template; empty when every fork is reviewed."""
    problems: list[str] = []
    custom = {p.relative_to(templates).as_posix() for p in templates.rglob("*.jinja")}
    recorded = (
        (templates / "FORKS.md").read_text(encoding="utf-8") if (templates / "FORKS.md").exists() else ""
    )
    headings = set(re.findall(r"^## `([^`]+)`", recorded, flags=re.MULTILINE))
    for name in sorted(custom - set(FORKS)):
        problems.append(
            f"{name}: a custom template not recorded as a fork; record the sha256 of the stock template "
            f"it replaces in tools/template_forks.py and what it changes in FORKS.md (or delete it)"
        )
    for name in sorted(set(FORKS) - custom):
        problems.append(f"{name}: recorded as a fork in tools/template_forks.py but not in {templates}")
    for name in sorted(custom & set(FORKS) - headings):
        problems.append(f"{name}: no '## `{name}`' section in {templates / 'FORKS.md'}")
    for name in sorted(set(headings) - custom):
        problems.append(f"{name}: FORKS.md describes a fork that {templates} does not have")

    stock_names: set[str] = set()
    stock_attributes: set[str] = set()
    stock_inspected: set[str] = set()  # endpoint_macros.py.jinja sets a header's transform_header(...)
    for path in sorted(stock.rglob("*.jinja")):
        tree = _ast(path)
        names, attributes = _reads(tree)
        stock_names |= names
        stock_attributes |= attributes
        stock_inspected |= _inspected_macros(tree)
    for name in sorted(custom & set(FORKS)):
        original = stock / name
        if not original.is_file():
            problems.append(f"{name}: the installed {GENERATOR} has no stock {name}; review the fork")
        elif (digest := _sha256(original)) != FORKS[name]:
            problems.append(
                f"{name}: the installed {GENERATOR}'s stock template differs from the {PINNED} one this fork "
                f"was made from (sha256 {digest}, recorded {FORKS[name]}); review the fork against it, "
                "then record the new digest in tools/template_forks.py and FORKS.md"
            )
        names, attributes = _reads(_ast(templates / name))
        for variable in sorted(names - stock_names - JINJA_GLOBALS):
            problems.append(
                f"{name}: reads `{variable}`, which no stock template reads (not the documented context)"
            )
        for attribute in sorted(attributes - stock_attributes):
            problems.append(
                f"{name}: reads `.{attribute}`, which no stock template reads (not the documented context)"
            )
        for macro in sorted(_inspected_macros(_ast(templates / name)) - stock_inspected):
            problems.append(
                f"{name}: inspects what `{macro}(...)` renders; use the context the stock templates use"
            )
    return problems


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--stock", type=Path, default=None, help="stock templates (default: the installed generator's)"
    )
    parser.add_argument("--templates", type=Path, default=TEMPLATES, help="the custom templates")
    parser.add_argument(
        "--digests", action="store_true", help="print the stock digests of the recorded forks"
    )
    args = parser.parse_args(argv)
    stock = args.stock or installed_stock()
    if args.digests:
        for name in sorted(FORKS):
            print(f"{_sha256(stock / name)}  {name}")
        return 0
    problems = check(stock, args.templates)
    if problems:
        try:
            installed = importlib.metadata.version(GENERATOR)
        except importlib.metadata.PackageNotFoundError:
            installed = "not installed"
        print(
            f"error: the template forks need review ({GENERATOR} {installed}, forks made from {PINNED}):",
            *(f"  {p}" for p in problems),
            sep="\n",
        )
        return 1
    print(f"{len(FORKS)} template forks recorded against the stock templates of {GENERATOR} {PINNED}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
