"""`make docs`: the offline HTML reference, built into a temporary folder and checked.

The page must carry every operation of the spec (the list comes from the spec, and the
definition embedded in the page must be the spec itself) and make a browser load nothing
from the network: no external script, stylesheet, image, frame or font, no CSS import, and a
Content-Security-Policy that refuses whatever the renderer might ask for at run time.
Links in the text (`<a href>`) are fine.
"""

from __future__ import annotations

import json
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "openapi" / "customers.yaml"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Attributes through which an element makes the browser fetch something.
_LOADING = {
    "script": ("src",),
    "link": ("href",),  # stylesheets, icons, preloads, modulepreload
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "audio": ("src",),
    "video": ("src", "poster"),
    "track": ("src",),
    "input": ("src",),
    "image": ("href", "xlink:href"),
    "use": ("href", "xlink:href"),
    "base": ("href",),
}
_REMOTE = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.I)  # http://, https://, //host
_CSS_REMOTE = re.compile(
    r"""url\(\s*['"]?\s*(?:[a-z][a-z0-9+.-]*:)?//|@import\s+(?:url\()?\s*['"]?\s*(?:[a-z]+:)?//""", re.I
)


class _Loads(HTMLParser):
    """Every remote URL the static page asks the browser to load, and its CSP."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.remote: list[str] = []
        self.csp: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): value or "" for name, value in attrs}
        for name in _LOADING.get(tag, ()):
            for url in (
                re.split(r",\s*", values.get(name, "")) if name == "srcset" else [values.get(name, "")]
            ):
                if _REMOTE.match(url):
                    self.remote.append(f"<{tag} {name}={url!r}>")
        if (
            tag == "meta"
            and values.get("http-equiv", "").lower() == "refresh"
            and "url=" in values.get("content", "").lower()
        ):
            self.remote.append(f"<meta refresh {values['content']!r}>")
        if tag == "meta" and values.get("http-equiv", "").lower() == "content-security-policy":
            self.csp.append(values.get("content", ""))
        if _CSS_REMOTE.search(values.get("style", "")):
            self.remote.append(f"<{tag} style={values['style']!r}>")
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style and _CSS_REMOTE.search(data):
            self.remote.append(f"<style> {_CSS_REMOTE.search(data)!r}")


def _operations(spec: dict) -> list[tuple[str, str, str, str]]:
    return [
        (path, method, op["operationId"], op.get("summary", ""))
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def _embedded_definition(html: str) -> dict:
    marker = "const __redoc_definition = "
    assert html.count(marker) == 1, "the page does not embed the API definition once"
    definition, _ = json.JSONDecoder().raw_decode(html, html.index(marker) + len(marker))
    return definition


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("docs") / "api.html"
    run = subprocess.run(
        ["make", "--no-print-directory", "docs", f"DOCS_HTML={out}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return out.read_text(encoding="utf-8")


@pytest.mark.external
def test_the_page_documents_every_operation(page: str) -> None:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    operations = _operations(spec)
    assert len(operations) >= 1
    embedded = _embedded_definition(page)
    assert sorted(embedded["paths"]) == sorted(spec["paths"])
    assert embedded["info"]["version"] == str(spec["info"]["version"])
    for path, method, operation_id, summary in operations:
        assert embedded["paths"][path][method]["operationId"] == operation_id
        assert f'"operationId":{json.dumps(operation_id)}' in page, operation_id
        assert json.dumps(summary)[1:-1] in page, f"{operation_id}: summary {summary!r} missing"
    assert f"<title>{spec['info']['title']}</title>" in page


@pytest.mark.external
def test_the_page_loads_nothing_from_the_network(page: str) -> None:
    loads = _Loads()
    loads.feed(page)
    loads.close()
    assert loads.remote == []
    # The renderer is inlined: no script comes from elsewhere, and the redocly CDN's
    # standalone bundle is not referenced by the page's markup.
    assert "redoc.standalone.js" not in page
    assert len(loads.csp) == 1, "the page has no Content-Security-Policy"
    directives = dict(
        d.strip().split(None, 1) if " " in d.strip() else (d.strip(), "")
        for d in loads.csp[0].split(";")
        if d.strip()
    )
    assert directives.get("default-src") == "'none'"
    for directive in (
        "script-src",
        "style-src",
        "img-src",
        "font-src",
        "connect-src",
        "worker-src",
        "child-src",
    ):
        sources = directives.get(directive, "'none'").split()
        assert not any(_REMOTE.match(s) or s in ("*", "http:", "https:", "'self'") for s in sources), (
            directive,
            sources,
        )


def test_the_network_check_finds_remote_loads() -> None:
    for html in (
        '<script src="https://cdn.redoc.ly/redoc/latest/bundles/redoc.standalone.js"></script>',
        '<link rel="stylesheet" href="//fonts.googleapis.com/css?family=Roboto">',
        '<img srcset="a.png 1x, https://x.example/b.png 2x">',
        "<style>@import url(https://x.example/a.css);</style>",
        "<div style=\"background: url('http://x.example/a.png')\"></div>",
    ):
        loads = _Loads()
        loads.feed(html)
        assert loads.remote, html
    loads = _Loads()
    loads.feed('<a href="https://redocly.com/redoc/">docs by</a><img src="data:image/png;base64,AA==">')
    assert loads.remote == []
