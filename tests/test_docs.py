"""`make docs`: the offline HTML reference, built into a temporary folder and checked.

The page must carry every operation of the spec (the list comes from the spec, and the
definition embedded in the page must be the spec itself) and make a browser load nothing
from the network: no external script, stylesheet, image, frame or font, no CSS import, and a
Content-Security-Policy that refuses whatever the renderer might ask for at run time.
Links in the text (`<a href>`) are fine. And the page must ask for nothing that policy blocks:
every resource its markup and styles load is allowed by the directive that governs it, and its
scripts name no remote image, font, stylesheet or script (Redoc 3's sidebar logo came from
cdn.redoc.ly: a broken image; `make docs` inlines it). No headless browser is installed where
this was written, so the check is static. `make docs` and `redocly lint` print their findings
without Redocly's banners, its "Woohoo!" or blank lines.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

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
def build(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """`make docs` into a temporary folder: the page, and what the build printed."""
    out = tmp_path_factory.mktemp("docs") / "api.html"
    run = subprocess.run(
        ["make", "--no-print-directory", "-s", "docs", f"DOCS_HTML={out}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return out.read_text(encoding="utf-8"), run.stdout + run.stderr


@pytest.fixture(scope="module")
def page(build: tuple[str, str]) -> str:
    return build[0]


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


# --- what the page loads is what its policy allows --------------------------------------------
# The directive that governs what an element's attribute loads (CSP level 3's fallbacks apply).
_DIRECTIVE = {
    ("script", "src"): "script-src",
    ("img", "src"): "img-src",
    ("img", "srcset"): "img-src",
    ("source", "src"): "media-src",
    ("source", "srcset"): "img-src",
    ("input", "src"): "img-src",
    ("video", "poster"): "img-src",
    ("video", "src"): "media-src",
    ("audio", "src"): "media-src",
    ("track", "src"): "media-src",
    ("iframe", "src"): "frame-src",
    ("frame", "src"): "frame-src",
    ("embed", "src"): "object-src",
    ("object", "data"): "object-src",
    ("image", "href"): "img-src",
    ("image", "xlink:href"): "img-src",
    ("use", "href"): "img-src",
    ("use", "xlink:href"): "img-src",
}
_LINK_DIRECTIVE = {
    "stylesheet": "style-src",
    "icon": "img-src",
    "apple-touch-icon": "img-src",
    "manifest": "manifest-src",
}
_FALLBACK = {
    "script-src": ["default-src"],
    "style-src": ["default-src"],
    "img-src": ["default-src"],
    "font-src": ["default-src"],
    "media-src": ["default-src"],
    "object-src": ["default-src"],
    "manifest-src": ["default-src"],
    "frame-src": ["child-src", "default-src"],
    "connect-src": ["default-src"],
}
_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)""", re.I)
_CSS_IMPORT = re.compile(r"""@import\s+(?:url\(\s*)?["']?([^"')\s;]+)""", re.I)
_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}", re.I)
# A remote URL of something a browser fetches to show a page, wherever it appears (a script that
# builds an <img> names it as a string); the same pattern as tools/spec/docs-offline.mjs.
_REMOTE_ASSET = re.compile(
    r"""(?:https?:)?//[^\s'"`()<>\\]+\.(?:svg|png|gif|jpe?g|webp|avif|ico|bmp|woff2?|ttf|otf|eot|css|m?js)"""
    r"""(?=[?#\s'"`()<>\\]|$)""",
    re.I,
)
_REMOTE_CSS_URL = re.compile(r"""url\(\s*['"]?\s*(?:[a-z][a-z0-9+.-]*:)?//""", re.I)


def _policy(csp: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for directive in csp.split(";"):
        if directive.strip():
            name, *sources = directive.lower().split()
            directives.setdefault(name, sources)  # a repeated directive is ignored
    return directives


def _allows(policy: dict[str, list[str]], directive: str, url: str) -> bool:
    """Whether `url`, loaded under `directive`, passes the policy (schemes, hosts, *; no nonces)."""
    for name in [directive, *_FALLBACK.get(directive, ["default-src"])]:
        if name in policy:
            sources = policy[name]
            break
    else:
        return True  # nothing governs it
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    for source in sources:
        if source == "'none'":
            return False
        if source == "*" and scheme not in ("data", "blob", "filesystem"):
            return True
        if source.endswith(":") and source == f"{scheme}:":
            return True
        if source == "'self'" and not scheme and not parts.netloc:
            return True
        if "." in source or source.startswith("*") or "//" in source:
            host = urlsplit(source if "//" in source else f"//{source}").hostname or ""
            if parts.hostname and (
                parts.hostname == host or (host.startswith("*.") and parts.hostname.endswith(host[1:]))
            ):
                return True
    return False


class _Resources(HTMLParser):
    """Every resource the static page asks for, as (directive, URL, where), and its policies."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.loads: list[tuple[str, str, str]] = []
        self.csp: list[str] = []
        self._in_style = False

    def _css(self, css: str, where: str) -> None:
        fonts = " ".join(_FONT_FACE.findall(css))
        for match in _CSS_URL.finditer(css):
            url = next(g for g in match.groups() if g is not None)
            if not url.startswith("#"):  # a fragment names something in this document
                self.loads.append(("font-src" if match.group(0) in fonts else "img-src", url, where))
        for url in _CSS_IMPORT.findall(css):
            self.loads.append(("style-src", url, where))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): value or "" for name, value in attrs}
        if tag == "meta" and values.get("http-equiv", "").lower() == "content-security-policy":
            self.csp.append(values.get("content", ""))
        for (element, name), directive in _DIRECTIVE.items():
            if element == tag and values.get(name):
                urls = [u.split()[0] for u in re.split(r",\s*", values[name]) if u.strip()]
                for url in urls if name.endswith("srcset") else [values[name]]:
                    if not url.startswith("#"):
                        self.loads.append((directive, url, f"<{tag} {name}>"))
        if tag == "link" and values.get("href"):
            for rel in values.get("rel", "").lower().split():
                directive = _LINK_DIRECTIVE.get(rel)
                if rel in ("preload", "modulepreload", "prefetch"):
                    directive = {"style": "style-src", "font": "font-src", "image": "img-src"}.get(
                        values.get("as", ""), "script-src" if rel == "modulepreload" else "default-src"
                    )
                if directive:
                    self.loads.append((directive, values["href"], f"<link rel={rel}>"))
        if values.get("style"):
            self._css(values["style"], f"<{tag} style>")
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self._css(data, "<style>")


def _blocked(html: str) -> list[str]:
    """What the page would ask for that its own Content-Security-Policy refuses."""
    found = _Resources()
    found.feed(html)
    found.close()
    policies = [_policy(csp) for csp in found.csp]
    blocked = [
        f"{where} {url[:80]!r} ({directive})"
        for directive, url, where in found.loads
        if not all(_allows(policy, directive, url) for policy in policies)
    ]
    blocked += [f"a script or style names {url!r}" for url in sorted(set(_REMOTE_ASSET.findall(html)))]
    blocked += [f"a remote url(): {m.group(0)!r}" for m in _REMOTE_CSS_URL.finditer(html)]
    return blocked


@pytest.mark.external
def test_the_page_asks_for_nothing_its_policy_blocks(page: str) -> None:
    assert _blocked(page) == []
    found = _Resources()
    found.feed(page)
    assert found.loads, "the checker found no resource at all in the page"
    assert "cdn.redoc.ly" not in page
    # the sidebar's logo is still there, as an image the policy allows
    assert re.search(r"alt:`redocly logo`[^;]*?src:[^;]*?`data:image/svg\+xml;base64,", page), "logo"


def test_the_policy_check_finds_what_the_policy_blocks() -> None:
    csp = "default-src 'none'; img-src data: blob:; font-src data:; style-src 'unsafe-inline'"
    head = f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
    for body in (
        '<img src="https://cdn.redoc.ly/redoc/logo-mini.svg">',
        '<img src="logo.png">',  # 'self' is not allowed either
        '<img srcset="data:image/png;base64,AA== 1x, https://x.example/b.png 2x">',
        '<link rel="icon" href="favicon.ico">',
        "<style>@font-face { font-family: x; src: url(https://x.example/f.woff2) }</style>",
        "<style>@font-face { font-family: x; src: url(f.woff2) }</style>",
        '<div style="background: url(bg.png)"></div>',
        "<script>h(`img`,{alt:`redocly logo`,src:e?`https://cdn.redoc.ly/redoc/logo-mini-full.svg`:x})</script>",
        "<script>const css = `a { background: url(//x.example/a) }`</script>",
    ):
        assert _blocked(head + body), body
    allowed = (
        '<img src="data:image/png;base64,AA=="><a href="https://redocly.com/redoc/">by</a>'
        "<style>@font-face { src: url('data:application/font-woff;base64,AA==') } i { fill: url(#g) }</style>"
        '<svg><use href="#icon"></use></svg><script>h(`img`,{src:`data:image/svg+xml;base64,AA==`})</script>'
    )
    assert _blocked(head + allowed) == []
    assert _allows(_policy("img-src https://cdn.example"), "img-src", "https://cdn.example/a.png")
    assert not _allows(_policy("default-src 'self'"), "img-src", "https://cdn.example/a.png")
    assert _allows(_policy("default-src 'self'"), "img-src", "a.png")


# --- the tools say what they found, and nothing else --------------------------------------------
_CHATTER = re.compile(r"[║╔╚═]|Woohoo|Node\.js 20|Redoc 3|openapi-typescript \d")


def _quiet(output: str) -> None:
    assert not _CHATTER.search(output), output
    assert "\n\n" not in output and not output.startswith("\n"), repr(output)


@pytest.mark.external
def test_make_docs_prints_no_banner_and_no_blank_line(build: tuple[str, str]) -> None:
    _quiet(build[1])
    assert "bundled successfully" in build[1]


@pytest.mark.external
def test_lint_spec_prints_the_linters_findings_without_their_chatter(tmp_path: Path) -> None:
    # The Makefile's own command lines (make -n), run here, the typings written to a temporary folder.
    plan = subprocess.run(
        ["make", "--no-print-directory", "-n", "lint-spec"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert plan.returncode == 0, plan.stdout + plan.stderr
    lines = [
        line for line in plan.stdout.splitlines() if "redocly lint" in line or "openapi-typescript " in line
    ]
    assert len(lines) == 2 and all("quiet.awk" in line for line in lines), plan.stdout
    out = ROOT / "tools" / "spec" / "out" / "customers.d.ts"
    lines[1] = lines[1].replace(str(out.relative_to(ROOT)), shlex.quote(str(tmp_path / "customers.d.ts")))
    assert str(tmp_path) in lines[1]
    printed = ""
    for line in lines:
        run = subprocess.run(["bash", "-c", line], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout + run.stderr
        printed += run.stdout + run.stderr
    _quiet(printed)
    assert "validated in" in printed and (tmp_path / "customers.d.ts").is_file()
    # A finding is still printed, its blank lines between problems kept, and the status is kept.
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        SPEC.read_text(encoding="utf-8").replace("\n  license:", "\n  licence:", 1), encoding="utf-8"
    )
    run = subprocess.run(
        ["bash", "-c", lines[0].replace(str(SPEC.relative_to(ROOT)), shlex.quote(str(bad)))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "licence" in run.stdout and "Validation failed" in run.stdout
    assert "\n\n" in run.stdout and not _CHATTER.search(run.stdout)
