"""`threedcart.contract._spec` in isolation: the OpenAPI reader of `threedcart contract-check`.

Pins, on small synthetic documents (and the packaged spec where the real document matters):
`load_spec`'s usage errors word for word; JSON pointers (`json_pointer`, `Spec.at`) and `$ref`s
(`Spec.follow`, `Spec.resolve`) with their edge cases; the operations `Spec` collects, their
parameters and responses (`response_for`'s precedence), `body_schema` and `request_schema`;
`Spec.merged`'s `allOf` merge; and `Spec.errors`: which object schemas it closes, which
alternative of a failed `oneOf`/`anyOf` it reports, the JSON path and the exact sentence of each
problem. `test_contract_check.py` tests the same through the real spec and the check.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import IO, Any

import pytest
import yaml
from threedcart.contract import Operation, Response, Spec, SpecError, load_spec
from threedcart.contract._spec import json_pointer

INT: dict[str, Any] = {"type": "integer"}
STR: dict[str, Any] = {"type": "string"}
GADGET = "/v9/Gadgets/{gid}"
GADGET_POINTER = "/paths/~1v9~1Gadgets~1{gid}"


def _document(schemas: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A minimal OpenAPI 3.0 document with these component schemas (and any other top-level parts)."""
    document: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "Xyzzy", "version": "9"},
        "paths": {},
        "components": {"schemas": schemas or {}},
    }
    document.update(extra)
    return document


def _problems(schema: dict[str, Any], value: Any, **others: Any) -> list[tuple[str, str]]:
    """`Spec.errors` of `value` against `schema`, as the component schema `Widget` beside `others`."""
    return Spec(_document({"Widget": schema, **others})).errors(value, "#/components/schemas/Widget")


# --- load_spec ----------------------------------------------------------------------------------
def _spec_error(source: Traversable) -> SpecError:
    with pytest.raises(SpecError) as info:
        load_spec(source)
    error = info.value
    assert error.__cause__ is None and (error.__suppress_context__ or error.__context__ is None)  # no chain
    return error


def test_load_spec_reads_yaml_and_json_documents(tmp_path: Path) -> None:
    yaml_path = tmp_path / "xyzzy.yaml"
    yaml_path.write_text("openapi: 3.0.3\npaths:\n  /v9/Gadgets: {}\n", encoding="utf-8")
    assert load_spec(yaml_path) == {"openapi": "3.0.3", "paths": {"/v9/Gadgets": {}}}
    for name in ("xyzzy.json", "XYZZY.JSON"):
        json_path = tmp_path / name
        json_path.write_text('{"paths": {"/v9/Gadgets": {"x-n": 1}}}', encoding="utf-8")
        assert load_spec(json_path) == {"paths": {"/v9/Gadgets": {"x-n": 1}}}
    assert isinstance(load_spec(json_path), dict)


def test_load_spec_names_a_file_it_cannot_read(tmp_path: Path) -> None:
    missing = tmp_path / "absent.yaml"
    assert str(_spec_error(missing)) == f"cannot read the spec {missing}: No such file or directory"
    assert str(_spec_error(tmp_path)) == f"cannot read the spec {tmp_path}: Is a directory"


def test_load_spec_refuses_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("openapi: 3.0.3\ninfo: {title: Größe}\npaths: {}\n".encode("latin-1"))
    assert str(_spec_error(path)) == f"the spec {path} is not UTF-8"


class _Cp1252Resource(Traversable):
    """A packaged resource whose text default is cp1252 (the locale encoding of many Windows hosts)."""

    def __init__(self, name: str, data: bytes) -> None:
        self._name, self._data = name, data

    @property
    def name(self) -> str:
        return self._name

    def open(self, mode: str = "r", *args: Any, **kwargs: Any) -> IO[Any]:
        if "b" in mode:
            return io.BytesIO(self._data)
        return io.TextIOWrapper(io.BytesIO(self._data), encoding=kwargs.get("encoding") or "cp1252")

    def read_bytes(self) -> bytes:
        return self._data

    def read_text(self, encoding: str | None = None) -> str:
        with self.open(encoding=encoding) as text:
            return str(text.read())

    def iterdir(self) -> Iterator[Traversable]:
        return iter(())

    def is_dir(self) -> bool:
        return False

    def is_file(self) -> bool:
        return True

    def joinpath(self, *descendants: Any) -> Traversable:
        raise FileNotFoundError(descendants)


def test_load_spec_reads_utf8_whatever_the_platform_default() -> None:
    resource = _Cp1252Resource("xyzzy.yaml", "info: {title: Größe}\npaths: {}\n".encode())
    assert resource.read_text() != resource.read_text(encoding="utf-8")  # the default would garble it
    assert load_spec(resource) == {"info": {"title": "Größe"}, "paths": {}}


@pytest.mark.parametrize("name", ["xyzzy.json", "XYZZY.JSON", "xyzzy.Json"])
def test_load_spec_parses_a_json_suffix_as_json(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("paths: {}\n", encoding="utf-8")  # valid YAML, not JSON
    assert str(_spec_error(path)) == (
        f"the spec {path} is not valid JSON: Expecting value: line 1 column 1 (char 0)"
    )


def test_load_spec_names_invalid_yaml(tmp_path: Path) -> None:
    text = "paths: [unclosed\n"
    with pytest.raises(yaml.YAMLError) as parser:
        yaml.safe_load(text)
    for name in ("xyzzy.yaml", "xyzzy.yml", "xyzzy.json.txt"):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        message = str(_spec_error(path))
        assert message == f"the spec {path} is not valid YAML: {parser.value}"
        assert message.startswith(f"the spec {path} is not valid YAML: while parsing a flow sequence\n")


@pytest.mark.parametrize(
    "text",
    ["", "- 1\n- 2\n", "just text\n", "openapi: 3.0.3\n", "paths: [1]\n", "paths: null\n", "paths: text\n"],
)
def test_load_spec_wants_a_mapping_with_a_paths_mapping(tmp_path: Path, text: str) -> None:
    path = tmp_path / "notes.yaml"
    path.write_text(text, encoding="utf-8")
    assert str(_spec_error(path)) == f"{path} is not an OpenAPI document (no paths)"


def test_load_spec_wants_a_json_document_with_paths(tmp_path: Path) -> None:
    path = tmp_path / "xyzzy.json"
    path.write_text('{"openapi": "3.0.3"}', encoding="utf-8")
    assert str(_spec_error(path)) == f"{path} is not an OpenAPI document (no paths)"


# --- JSON pointers and $refs ----------------------------------------------------------------
def test_json_pointer_walks_objects_and_arrays() -> None:
    document: dict[str, Any] = {
        "a": {"b": [10, 20, {"c": "deep"}]},
        "a~b": 1,
        "a/b": 2,
        "~1": 3,
        "": 4,
        "s": "abc",
        "n": 5,
        "list": ["0", "x"],
    }
    assert json_pointer(document, "") is document  # the empty pointer is the whole document
    assert json_pointer(document, "/a") == {"b": [10, 20, {"c": "deep"}]}
    assert json_pointer(document, "/a/b/0") == 10
    assert json_pointer(document, "/a/b/1") == 20
    assert json_pointer(document, "/a/b/2/c") == "deep"
    assert json_pointer(document, "/list/0") == "0"
    # ~0 is "~" and ~1 is "/", decoded in that order (so ~01 is the key "~1")
    assert json_pointer(document, "/a~0b") == 1
    assert json_pointer(document, "/a~1b") == 2
    assert json_pointer(document, "/~01") == 3
    assert json_pointer(document, "/") == 4


@pytest.mark.parametrize(
    "pointer",
    [
        "/a/b/3",  # the index equal to the length
        "/a/b/9",
        "/a/b/x",  # not a digit, on an array
        "/a/b/-1",
        "/a/c",  # no such key
        "/a~b",  # "~" unescaped is not "a~b"
        "/s/0",  # into a string: it is not an array
        "/s/a",
        "/n/0",  # into a number
        "/n/x",
        "/list/a",
    ],
)
def test_json_pointer_is_none_where_there_is_nothing(pointer: str) -> None:
    document = {"a": {"b": [10, 20, {"c": "deep"}]}, "s": "abc", "n": 5, "list": ["0", "x"]}
    assert json_pointer(document, pointer) is None


def _ref_spec() -> Spec:
    return Spec(
        _document(
            {
                "Widget": {"type": "object", "properties": {"Id": INT}},
                "Alias": {"$ref": "#/components/schemas/Widget"},
                "Sharp#": {"description": "sharp"},
                "Sharp": {"description": "blunt"},
                "Loop1": {"$ref": "#/components/schemas/Loop2"},
                "Loop2": {"$ref": "#/components/schemas/Loop1"},
                "Self": {"$ref": "#/components/schemas/Self"},
            }
        )
    )


def test_at_reads_a_pointer_with_or_without_a_leading_hash() -> None:
    spec = _ref_spec()
    widget = {"type": "object", "properties": {"Id": INT}}
    assert spec.at("/components/schemas/Widget") == widget
    assert spec.at("#/components/schemas/Widget") == widget
    assert spec.at("#/components/schemas/Sharp#") == {"description": "sharp"}  # only a leading # goes
    assert spec.at("/components/schemas/Sharp#") == {"description": "sharp"}
    assert spec.at("") == spec.document == spec.at("#")


@pytest.mark.parametrize("pointer", ["/components/schemas/Nope", "#/components/schemas/Nope"])
def test_at_names_a_missing_pointer(pointer: str) -> None:
    with pytest.raises(SpecError) as info:
        _ref_spec().at(pointer)
    assert str(info.value) == "cannot resolve #/components/schemas/Nope"


def test_follow_ends_where_the_refs_end() -> None:
    spec = _ref_spec()
    widget = spec.at("/components/schemas/Widget")
    assert spec.follow({"$ref": "#/components/schemas/Alias"}, "/here") == (
        widget,
        "/components/schemas/Widget",
    )
    assert spec.follow({"type": "string"}, "/here") == ({"type": "string"}, "/here")
    assert spec.follow(None, "/here") == (None, "/here")
    assert spec.resolve({"$ref": "#/components/schemas/Alias"}) == widget
    assert spec.resolve([{"$ref": "#/components/schemas/Alias"}]) == [{"$ref": "#/components/schemas/Alias"}]


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        (7, "cannot resolve $ref 7"),
        (None, "cannot resolve $ref None"),
        (
            "other.yaml#/components/schemas/Widget",
            "cannot resolve $ref 'other.yaml#/components/schemas/Widget'",
        ),
        ("#components/schemas/Widget", "cannot resolve $ref '#components/schemas/Widget'"),
        ("#/components/schemas/Loop1", "cannot resolve $ref '#/components/schemas/Loop1'"),
        ("#/components/schemas/Loop2", "cannot resolve $ref '#/components/schemas/Loop2'"),
        ("#/components/schemas/Self", "cannot resolve $ref '#/components/schemas/Self'"),
        ("#/components/schemas/Nope", "cannot resolve #/components/schemas/Nope"),
    ],
)
def test_follow_refuses_what_it_cannot_resolve(ref: object, message: str) -> None:
    spec = _ref_spec()
    with pytest.raises(SpecError) as info:
        spec.follow({"$ref": ref}, "/here")
    assert str(info.value) == message
    with pytest.raises(SpecError) as again:
        spec.resolve({"$ref": ref})
    assert str(again.value) == message


def test_a_ref_to_a_non_ascii_index_cannot_be_resolved() -> None:
    spec = Spec(_document({"Widget": {"allOf": [INT, STR]}}))
    with pytest.raises(SpecError) as info:
        spec.resolve({"$ref": "#/components/schemas/Widget/allOf/²"})
    assert str(info.value) == "cannot resolve #/components/schemas/Widget/allOf/²"


# --- operations, parameters, responses -------------------------------------------------------
def _param(name: str, where: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": where, "schema": STR, **extra}


def _gadget_document() -> dict[str, Any]:
    ok = {
        "description": "ok",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Gadget"}}},
    }
    gadget = {
        "summary": "one gadget",
        "parameters": [{"$ref": "#/components/parameters/Gid"}, _param("X-Trace", "header")],
        "get": {
            "operationId": "readGadget",
            "parameters": [
                _param("XyzzyCount", "query"),
                {"$ref": "#/components/parameters/Fields"},
                _param("X-Trace", "header", description="the operation's own"),
            ],
            "responses": {
                "200": ok,
                "4XX": {"$ref": "#/components/responses/Oops"},
                "418": "not a response",
                "default": {"description": "anything else"},
            },
        },
        "put": {"operationId": "writeGadget", "responses": {}},
        "post": {"summary": "no operationId"},
        "delete": {"operationId": 7},
        "patch": {"operationId": "patchGadget"},
        "head": {"operationId": "headGadget"},
        "options": {"operationId": "optionsGadget"},
        "trace": {"operationId": "traceGadget"},
        "x-get": {"operationId": "xGadget"},
    }
    document = _document(
        {"Gadget": {"type": "object", "properties": {"Gid": INT}}},
        paths={
            GADGET: gadget,
            "/v9/Gizmos": {"$ref": "#/x-pathItems/Gizmos"},
            "/v9/Tilde~Widgets": {"get": {"operationId": "readTilde"}},
            "/v9/Nothing": None,
        },
    )
    document["x-pathItems"] = {
        "Gizmos": {
            "parameters": [{"$ref": "#/components/parameters/Fields"}],
            "get": {"operationId": "listGizmos"},
        }
    }
    document["components"]["parameters"] = {
        "Gid": _param("gid", "path", required=True),
        "Fields": _param("fields", "query"),
    }
    document["components"]["responses"] = {
        "Oops": {"description": "client error", "content": {"text/plain": {"schema": STR}}}
    }
    return document


def test_spec_collects_the_five_methods_with_a_string_operation_id() -> None:
    document = _gadget_document()
    spec = Spec(document)
    assert list(spec.operations) == ["readGadget", "writeGadget", "patchGadget", "listGizmos", "readTilde"]
    shared = (_param("gid", "path", required=True), _param("X-Trace", "header"))
    assert spec.operation("readGadget") == Operation(
        "readGadget", "GET", GADGET, f"{GADGET_POINTER}/get", document["paths"][GADGET]["get"], shared
    )
    patch = spec.operation("patchGadget")
    assert patch is not None and patch.method == "PATCH" and patch.pointer == f"{GADGET_POINTER}/patch"
    assert patch.path_parameters == shared  # path-level parameters, $refs resolved, shared
    put = spec.operation("writeGadget")
    assert put is not None and (put.method, put.pointer) == ("PUT", f"{GADGET_POINTER}/put")
    for absent in ("headGadget", "optionsGadget", "traceGadget", "xGadget", "7", "nope"):
        assert spec.operation(absent) is None


def test_an_operation_pointer_escapes_its_path_and_follows_a_ref_path_item() -> None:
    spec = Spec(_gadget_document())
    tilde = spec.operation("readTilde")
    assert tilde is not None
    assert (tilde.path, tilde.pointer, tilde.path_parameters) == (
        "/v9/Tilde~Widgets",
        "/paths/~1v9~1Tilde~0Widgets/get",
        (),
    )
    assert spec.at(tilde.pointer) is tilde.spec
    gizmos = spec.operation("listGizmos")
    assert gizmos is not None
    assert (gizmos.method, gizmos.path, gizmos.pointer) == ("GET", "/v9/Gizmos", "/x-pathItems/Gizmos/get")
    assert gizmos.path_parameters == (_param("fields", "query"),)
    assert spec.at(gizmos.pointer) is gizmos.spec


def test_spec_reads_the_document_as_json_would() -> None:
    document = yaml.safe_load(
        "openapi: 3.0.3\n"
        "paths:\n"
        "  /v9/Gadgets/{gid}:\n"
        "    get:\n"
        "      operationId: readGadget\n"
        "      responses:\n"
        "        200:\n"
        "          description: ok\n"
        "          content: {application/json: {schema: {type: string, example: 2024-01-02}}}\n"
    )
    assert 200 in document["paths"][GADGET]["get"]["responses"]
    assert document["paths"][GADGET]["get"]["responses"][200]["content"]["application/json"]["schema"][
        "example"
    ] == date(2024, 1, 2)
    spec = Spec(document)
    op = spec.operation("readGadget")
    assert op is not None
    responses = spec.responses(op)
    assert list(responses) == ["200"]
    response = spec.response_for(op, 200)
    assert response == responses["200"]
    assert response.pointer == f"{GADGET_POINTER}/get/responses/200"
    assert response.spec["content"]["application/json"]["schema"] == {
        "type": "string",
        "example": "2024-01-02",
    }
    assert spec.document is not document and 200 in document["paths"][GADGET]["get"]["responses"]


def test_spec_reads_a_date_key_as_json_would() -> None:
    document = yaml.safe_load(
        "paths:\n"
        "  /v9/Gadgets:\n"
        "    get:\n"
        "      operationId: readGadget\n"
        "      responses:\n"
        "        200:\n"
        "          description: XyzzyCount by day\n"
        "          content:\n"
        "            application/json:\n"
        "              schema: {type: object, additionalProperties: {type: integer}}\n"
        "              example: {2024-01-02: 5}\n"
    )
    spec = Spec(document)
    media = "/paths/~1v9~1Gadgets/get/responses/200/content/application~1json"
    assert spec.at(f"{media}/example") == {"2024-01-02": 5}


def test_a_document_without_paths_has_no_operations() -> None:
    assert Spec({"openapi": "3.0.3"}).operations == {}
    assert Spec({"paths": ["/v9/Gadgets"]}).operations == {}


def test_parameters_put_the_operation_after_its_path() -> None:
    spec = Spec(_gadget_document())
    op = spec.operation("readGadget")
    assert op is not None
    assert spec.parameters(op, "query") == {
        "XyzzyCount": _param("XyzzyCount", "query"),
        "fields": _param("fields", "query"),
    }
    assert spec.parameters(op, "path") == {"gid": _param("gid", "path", required=True)}
    assert spec.parameters(op, "header") == {
        "X-Trace": _param("X-Trace", "header", description="the operation's own")
    }
    assert spec.parameters(op, "cookie") == {}
    put = spec.operation("writeGadget")
    assert put is not None
    assert spec.parameters(put, "header") == {"X-Trace": _param("X-Trace", "header")}
    assert spec.parameters(put, "query") == {}


def test_responses_follow_refs_and_skip_what_is_not_a_response() -> None:
    spec = Spec(_gadget_document())
    op = spec.operation("readGadget")
    assert op is not None
    responses = spec.responses(op)
    assert list(responses) == ["200", "4XX", "default"]
    assert responses["200"].pointer == f"{GADGET_POINTER}/get/responses/200"
    assert responses["4XX"] == Response(
        "/components/responses/Oops",
        {"description": "client error", "content": {"text/plain": {"schema": STR}}},
    )
    assert responses["default"] == Response(
        f"{GADGET_POINTER}/get/responses/default", {"description": "anything else"}
    )
    put = spec.operation("writeGadget")
    assert put is not None and spec.responses(put) == {}
    patch = spec.operation("patchGadget")
    assert patch is not None and spec.responses(patch) == {} and spec.response_for(patch, 200) is None


def _responding(*keys: str) -> tuple[Spec, Operation]:
    document = _document(
        paths={
            GADGET: {"get": {"operationId": "readGadget", "responses": {k: {"description": k} for k in keys}}}
        }
    )
    spec = Spec(document)
    op = spec.operation("readGadget")
    assert op is not None
    return spec, op


def _answer(keys: tuple[str, ...], status: int) -> str | None:
    spec, op = _responding(*keys)
    response = spec.response_for(op, status)
    if response is None:
        return None
    assert response.pointer == f"{GADGET_POINTER}/get/responses/{response.spec['description']}"
    return str(response.spec["description"])


def test_response_for_takes_the_exact_status_then_the_range_then_default() -> None:
    every = ("default", "4xx", "4XX", "400", "404")
    assert _answer(every, 404) == "404"
    assert _answer(every, 400) == "400"
    assert _answer(every, 401) == "4XX"
    assert _answer(("default", "4xx", "4XX"), 400) == "4XX"
    assert _answer(("default", "4xx"), 400) == "4xx"
    assert _answer(("default", "4xx"), 499) == "4xx"
    assert _answer(("default", "4xx"), 500) == "default"
    assert _answer(("default", "5XX"), 500) == "5XX"
    assert _answer(("default", "2XX"), 200) == "2XX"
    assert _answer(("2XX", "4xx"), 500) is None
    assert _answer((), 200) is None


# --- body_schema, request_schema, merged --------------------------------------------------------
def test_body_schema_is_the_first_json_media_with_a_schema() -> None:
    spec = Spec(_document())
    content = {
        "text/plain": {"schema": STR},
        "application/json": {"example": {"Gid": 1}},
        "application/xml+json": None,
        "application/vnd.xyzzy+json": {"schema": INT},
        "application/problem+json": {"schema": STR},
    }
    response = Response("/x/responses/200", {"content": content})
    assert spec.body_schema(response) == (
        "application/vnd.xyzzy+json",
        "/x/responses/200/content/application~1vnd.xyzzy+json/schema",
    )
    plain = Response("/x/responses/200", {"content": {"application/json": {"schema": INT}}})
    assert spec.body_schema(plain) == (
        "application/json",
        "/x/responses/200/content/application~1json/schema",
    )
    assert spec.body_schema(Response("/x", {"content": {"text/plain": {"schema": STR}}})) is None
    assert spec.body_schema(Response("/x", {"content": {"application/json": {}}})) is None
    assert spec.body_schema(Response("/x", {"description": "no content"})) is None


def test_body_schema_of_the_packaged_spec() -> None:
    spec = Spec(load_spec())
    op = spec.operation("getCustomer")
    assert op is not None
    response = spec.response_for(op, 200)
    assert response is not None
    assert spec.body_schema(response) == (
        "application/json",
        "/paths/~13dCartWebAPI~1v1~1Customers~1{id}/get/responses/200/content/application~1json/schema",
    )
    assert spec.at(spec.body_schema(response)[1]) == response.spec["content"]["application/json"]["schema"]  # type: ignore[index]


def _merge_spec() -> Spec:
    schemas: dict[str, Any] = {
        "Base": {
            "type": "object",
            "description": "base",
            "required": ["Id", "Name"],
            "properties": {"Id": INT, "Name": {"type": "string", "maxLength": 5}},
        },
        "Widget": {
            "description": "own",
            "required": ["Extra"],
            "properties": {"Name": {"type": "string", "maxLength": 3}},
            "allOf": [
                {"$ref": "#/components/schemas/Base"},
                {
                    "required": ["Name", "Extra", "Tag"],
                    "properties": {"Extra": STR, "Name": {"type": "string", "maxLength": 9}, "Tag": STR},
                    "nullable": True,
                    "description": "member",
                    "example": {"Id": 1},
                },
            ],
        },
        "Nested": {
            "allOf": [
                {"allOf": [{"properties": {"X": INT}, "required": ["X"]}, {"x-depth": 2}]},
                {"properties": {"Y": STR}},
            ]
        },
        "Untyped": {"properties": {"A": INT}},
        "Listed": {"type": "array", "properties": {"A": INT}},
        "Described": {"description": "nothing else", "allOf": [{"title": "t"}]},
    }
    return Spec(_document(schemas))


def test_merged_merges_all_of_members_the_node_winning() -> None:
    spec = _merge_spec()
    merged = spec.merged({"$ref": "#/components/schemas/Widget"})
    assert merged == {
        "description": "own",
        "required": ["Extra", "Id", "Name", "Tag"],
        "properties": {
            "Name": {"type": "string", "maxLength": 3},
            "Id": INT,
            "Extra": STR,
            "Tag": STR,
        },
        "type": "object",
        "nullable": True,
        "example": {"Id": 1},
    }
    assert list(merged["properties"]) == ["Name", "Id", "Extra", "Tag"]
    assert spec.at("/components/schemas/Widget/properties") == {"Name": {"type": "string", "maxLength": 3}}
    assert spec.at("/components/schemas/Widget/required") == ["Extra"]  # the document is not changed


def test_merged_nested_all_of_and_the_object_type() -> None:
    spec = _merge_spec()
    assert spec.merged(spec.at("/components/schemas/Nested")) == {
        "properties": {"X": INT, "Y": STR},
        "required": ["X"],
        "x-depth": 2,
        "type": "object",
    }
    assert spec.merged({"$ref": "#/components/schemas/Untyped"}) == {
        "properties": {"A": INT},
        "type": "object",
    }
    assert spec.merged({"$ref": "#/components/schemas/Listed"}) == {"type": "array", "properties": {"A": INT}}
    assert spec.merged({"$ref": "#/components/schemas/Described"}) == {
        "description": "nothing else",
        "title": "t",
    }
    assert spec.merged({"type": "string", "maxLength": 4}) == {"type": "string", "maxLength": 4}
    assert spec.merged({"allOf": [{"required": ["A"]}]}) == {"required": ["A"]}
    assert spec.merged({"properties": {}}) == {"properties": {}}
    assert spec.merged(None) == {}
    assert spec.merged("not a schema") == {}


def _body_spec() -> Spec:
    widget = {"type": "object", "required": ["Id"], "properties": {"Id": INT}}
    gadget = {
        "put": {"operationId": "writeGadget", "requestBody": {"$ref": "#/components/requestBodies/Body"}},
        "post": {"operationId": "createGadget", "requestBody": {"content": {"text/plain": {"schema": STR}}}},
        "patch": {
            "operationId": "patchGadget",
            "requestBody": {"content": {"application/merge-patch+json": {"schema": {"allOf": [widget]}}}},
        },
        "delete": {"operationId": "dropGadget", "requestBody": {"content": {"application/json": {}}}},
        "get": {"operationId": "readGadget"},
    }
    document = _document({"Widget": widget}, paths={GADGET: gadget})
    document["components"]["requestBodies"] = {
        "Body": {
            "content": {
                "text/plain": {"schema": STR},
                "application/json": {"schema": {"$ref": "#/components/schemas/Widget"}},
            }
        }
    }
    return Spec(document)


@pytest.mark.parametrize(
    ("operation_id", "schema"),
    [
        ("writeGadget", {"type": "object", "required": ["Id"], "properties": {"Id": INT}}),
        ("patchGadget", {"type": "object", "required": ["Id"], "properties": {"Id": INT}}),
        ("createGadget", {}),
        ("dropGadget", {}),
        ("readGadget", {}),
    ],
)
def test_request_schema_is_the_merged_json_body(operation_id: str, schema: dict[str, Any]) -> None:
    spec = _body_spec()
    op = spec.operation(operation_id)
    assert op is not None
    assert spec.request_schema(op) == schema


def test_request_schema_of_the_packaged_spec() -> None:
    spec = Spec(load_spec())
    create = spec.operation("createCustomer")
    assert create is not None
    schema = spec.request_schema(create)
    assert schema == spec.merged({"$ref": "#/components/schemas/CustomerCreate"})
    assert (schema["type"], schema["required"]) == ("object", ["Email", "Password"])
    bulk = spec.operation("updateCustomers")
    assert bulk is not None
    assert spec.request_schema(bulk)["items"] == {"$ref": "#/components/schemas/CustomerUpdateItem"}
    listing = spec.operation("listCustomers")
    assert listing is not None and spec.request_schema(listing) == {}


# --- errors: which schemas are closed ----------------------------------------------------------
def _undocumented(path: str, kind: str) -> tuple[str, str]:
    return path, f"a field the spec does not document ({kind})"


def test_an_object_schema_with_properties_is_closed() -> None:
    closed = {"type": "object", "properties": {"A": INT}}
    assert _problems(closed, {"A": 1, "B": 2}) == [_undocumented("$.B", "an integer")]
    assert _problems({**closed, "additionalProperties": True}, {"A": 1, "B": 2}) == [
        _undocumented("$.B", "an integer")
    ]
    assert _problems({**closed, "additionalProperties": False}, {"A": 1, "B": 2}) == [
        _undocumented("$.B", "an integer")
    ]
    inner = {"type": "object", "properties": {"Inner": closed}}
    assert _problems(inner, {"Inner": {"A": 1, "Q": "q"}}) == [_undocumented("$.Inner.Q", "a string")]
    assert _problems({"type": "object"}, {"Q": 1}) == []  # no properties: nothing to close


def test_an_explicit_additional_properties_schema_is_kept() -> None:
    schema = {"type": "object", "properties": {"A": INT}, "additionalProperties": INT}
    assert _problems(schema, {"A": 1, "C": 3}) == []
    assert _problems(schema, {"A": 1, "C": 3, "B": "x"}) == [
        ("$.B", 'a string, the spec says integer (e.g. "x")')
    ]


def test_all_of_members_stay_open() -> None:
    base = {"type": "object", "properties": {"Id": INT}}
    widget = {
        "allOf": [{"$ref": "#/components/schemas/Base"}, {"type": "object", "properties": {"Extra": STR}}]
    }
    assert _problems(widget, {"Id": 1, "Extra": "x"}, Base=base) == []
    assert _problems(widget, {"Id": "1", "Extra": "x"}, Base=base) == [
        ("$.Id", 'a string, the spec says integer (e.g. "1")')
    ]
    holder = {"type": "object", "properties": {"W": widget}}
    assert _problems(holder, {"W": {"Id": 1, "Extra": "x"}, "Z": 0}, Base=base) == [
        _undocumented("$.Z", "an integer")
    ]


def test_one_of_members_are_closed_and_an_all_of_member_by_ref_stays_open_where_it_is() -> None:
    choice = {"oneOf": [{"type": "object", "properties": {"A": INT}}, INT]}
    assert _problems(choice, {"A": 1, "B": 2}) == [_undocumented("$.B", "an integer")]
    pair = {"oneOf": [{"type": "object", "properties": {"A": INT}}, STR]}
    combo = {
        "allOf": [{"$ref": "#/components/schemas/Pair/oneOf/0"}, {"type": "object", "properties": {"B": INT}}]
    }
    assert _problems(combo, {"A": 1, "B": 2}, Pair=pair) == []


# --- errors: which alternative of a failed oneOf/anyOf -----------------------------------------
def test_an_alternative_of_the_values_type_is_closest_even_with_more_problems() -> None:
    two = {"type": "object", "properties": {"A": INT, "B": INT}}
    assert _problems({"oneOf": [INT, two]}, {"A": "x", "B": "y"}) == [
        ("$.A", 'a string, the spec says integer (e.g. "x")'),
        ("$.B", 'a string, the spec says integer (e.g. "y")'),
    ]
    assert _problems(
        {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "maxLength": 2}]}, "abc"
    ) == [("$", "too long, the spec allows at most 2 characters (e.g. 3)")]
    assert _problems(
        {"anyOf": [{"type": "string", "maxLength": 2}, {"type": "integer", "minimum": 0}]}, -1
    ) == [("$", "below the minimum 0 (e.g. -1)")]


def test_else_the_alternative_with_fewest_problems_the_first_on_a_tie() -> None:
    first = {"type": "object", "required": ["C"], "properties": {"A": INT, "C": STR}}
    second = {"type": "object", "required": ["D"], "properties": {"A": STR, "D": STR}}
    assert _problems({"oneOf": [first, second]}, {"A": "x"}) == [("$.D", "missing, but the spec requires it")]
    assert _problems({"oneOf": [second, first]}, {"A": "x"}) == [("$.D", "missing, but the spec requires it")]
    integer = {"type": "object", "properties": {"A": INT}}
    boolean = {"type": "object", "properties": {"A": {"type": "boolean"}}}
    assert _problems({"anyOf": [integer, boolean]}, {"A": "x"}) == [
        ("$.A", 'a string, the spec says integer (e.g. "x")')
    ]
    assert _problems({"anyOf": [boolean, integer]}, {"A": "x"}) == [
        ("$.A", 'a string, the spec says boolean (e.g. "x")')
    ]


def test_a_nested_alternative_is_followed_down() -> None:
    inner = {"anyOf": [INT, {"type": "string", "maxLength": 1}]}
    schema = {"oneOf": [INT, {"type": "object", "properties": {"N": inner}}]}
    assert _problems(schema, {"N": "xy"}) == [
        ("$.N", "too long, the spec allows at most 1 characters (e.g. 2)")
    ]
    assert _problems(schema, {"N": 1}) == []


def test_a_one_of_valid_under_several_is_its_own_message() -> None:
    assert _problems({"oneOf": [INT, {"type": "number"}]}, 3) == [
        ("$", "3 is valid under each of {'type': 'number'}, {'type': 'integer'}")
    ]


# --- errors: paths and sentences -----------------------------------------------------------------
def test_problems_are_named_by_json_paths() -> None:
    inner = {
        "type": "object",
        "required": ["b c", "1st", "ok_2", 'say "hi"', "é", "a-b", "_x"],
        "properties": {"ok_3": INT},
    }
    widget = {"type": "object", "properties": {"Inner": inner}}
    listing = {"type": "array", "items": {"$ref": "#/components/schemas/Widget"}}
    spec = Spec(_document({"Widget": widget, "Listing": listing}))
    missing = "missing, but the spec requires it"
    assert spec.errors(
        [{"Inner": {"ok_3": 1}}, {}, {"Inner": {"ok_3": "x"}}], "#/components/schemas/Listing"
    ) == [
        ('$[0].Inner["b c"]', missing),
        ('$[0].Inner["1st"]', missing),
        ("$[0].Inner.ok_2", missing),
        ('$[0].Inner["say \\"hi\\""]', missing),
        ('$[0].Inner["\\u00e9"]', missing),
        ('$[0].Inner["a-b"]', missing),
        ("$[0].Inner._x", missing),
        ('$[2].Inner["b c"]', missing),
        ('$[2].Inner["1st"]', missing),
        ("$[2].Inner.ok_2", missing),
        ('$[2].Inner["say \\"hi\\""]', missing),
        ('$[2].Inner["\\u00e9"]', missing),
        ('$[2].Inner["a-b"]', missing),
        ("$[2].Inner._x", missing),
        ("$[2].Inner.ok_3", 'a string, the spec says integer (e.g. "x")'),
    ]
    assert _problems({"type": "object", "required": ["x y"]}, {}) == [('$["x y"]', missing)]


def test_an_undocumented_field_is_named_with_its_json_type() -> None:
    value: dict[str, Any] = {"Known": 1, "N": None, "B": True, "I": 1, "F": 1.5, "S": "s", "L": [], "O": {}}
    assert _problems({"type": "object", "properties": {"Known": INT}}, value) == [
        _undocumented("$.N", "null"),
        _undocumented("$.B", "a boolean"),
        _undocumented("$.I", "an integer"),
        _undocumented("$.F", "a number"),
        _undocumented("$.S", "a string"),
        _undocumented("$.L", "an array"),
        _undocumented("$.O", "an object"),
    ]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (None, "null, but the spec does not allow null here"),
        (True, "a boolean, the spec says string (e.g. true)"),
        (False, "a boolean, the spec says string (e.g. false)"),
        (7, "an integer, the spec says string (e.g. 7)"),
        (1.5, "a number, the spec says string (e.g. 1.5)"),
        ([1, "a"], 'an array, the spec says string (e.g. [1, "a"])'),
        ({"k": 1}, 'an object, the spec says string (e.g. {"k": 1})'),
        ({}, "an object, the spec says string (e.g. {})"),
    ],
)
def test_a_value_of_another_type(value: Any, problem: str) -> None:
    assert _problems(STR, value) == [("$", problem)]


def test_a_string_where_a_boolean_belongs() -> None:
    assert _problems({"type": "boolean"}, "yes") == [("$", 'a string, the spec says boolean (e.g. "yes")')]
    assert _problems(INT, True) == [("$", "a boolean, the spec says integer (e.g. true)")]
    assert _problems({"type": "object", "properties": {"A": STR}}, {"A": None}) == [
        ("$.A", "null, but the spec does not allow null here")
    ]


def test_an_example_value_is_shown_up_to_forty_characters() -> None:
    forty = '"' + "x" * 38 + '"'
    assert _problems(INT, "x" * 38) == [("$", f"a string, the spec says integer (e.g. {forty})")]
    assert _problems(INT, "x" * 39) == [("$", 'a string, the spec says integer (e.g. "' + "x" * 36 + "...)")]
    assert _problems(INT, "é") == [("$", 'a string, the spec says integer (e.g. "\\u00e9")')]
    assert _problems(INT, "x" * 100) == [("$", 'a string, the spec says integer (e.g. "' + "x" * 36 + "...)")]


@pytest.mark.parametrize(
    ("schema", "value", "problem"),
    [
        (
            {"type": "string", "maxLength": 4},
            "abcdef",
            "too long, the spec allows at most 4 characters (e.g. 6)",
        ),
        ({"type": "string", "minLength": 2}, "a", "too short, the spec needs at least 2 characters (e.g. 1)"),
        ({"type": "integer", "maximum": 10}, 11, "above the maximum 10 (e.g. 11)"),
        ({"type": "number", "maximum": 2.5}, 3.25, "above the maximum 2.5 (e.g. 3.25)"),
        ({"type": "integer", "minimum": 1}, 0, "below the minimum 1 (e.g. 0)"),
        ({"type": "integer", "minimum": -3}, -4, "below the minimum -3 (e.g. -4)"),
        ({"type": "array", "maxItems": 2}, [1, 2, 3], "more items than the 2 the spec allows (e.g. 3)"),
        ({"type": "array", "minItems": 1}, [], "fewer items than the 1 the spec needs (e.g. 0)"),
        ({"enum": ["a", "b"]}, "c", 'not one of ["a", "b"] (e.g. "c")'),
        ({"enum": [1, None]}, 2, "not one of [1, null] (e.g. 2)"),
        (
            {"enum": ["x" * 20, "y" * 20]},
            "z",
            'not one of ["' + "x" * 20 + '", "' + "y" * 11 + '... (e.g. "z")',
        ),
        (
            {"type": "string", "pattern": "^[a-z]+$"},
            "A1b",
            'does not match the pattern ^[a-z]+$ (e.g. "A1b")',
        ),
        ({"type": "string", "format": "date"}, "2024-13-45", 'not a valid date (e.g. "2024-13-45")'),
        ({"type": "integer", "format": "int32"}, 2**40, "not a valid int32 (e.g. 1099511627776)"),
        ({"type": "integer", "multipleOf": 3}, 4, "4 is not a multiple of 3"),
    ],
)
def test_each_keyword_has_its_sentence(schema: dict[str, Any], value: Any, problem: str) -> None:
    assert _problems(schema, value) == [("$", problem)]


def test_a_value_breaking_several_rules_has_a_sentence_for_each() -> None:
    schema = {"type": "string", "minLength": 2, "pattern": "^[a-z]+$"}
    assert _problems(schema, "A") == [
        ("$", "too short, the spec needs at least 2 characters (e.g. 1)"),
        ("$", 'does not match the pattern ^[a-z]+$ (e.g. "A")'),
    ]


def test_another_message_is_cut_after_two_hundred_characters() -> None:
    unique = {"type": "array", "uniqueItems": True}
    exactly = ["x" * 84, "x" * 84]
    message = f"{exactly!r} has non-unique elements"
    assert len(message) == 200
    assert _problems(unique, exactly) == [("$", message)]
    over = ["x" * 83, "x" * 83, 7]
    assert len(f"{over!r} has non-unique elements") == 201
    assert _problems(unique, over) == [("$", f"['{'x' * 83}', '{'x' * 83}', 7] has non-unique elem...")]
    assert _problems(unique, [1, 1]) == [("$", "[1, 1] has non-unique elements")]


# --- errors: the list ---------------------------------------------------------------------------
def test_each_place_and_problem_is_listed_once_in_order() -> None:
    widget = {
        "allOf": [
            {"type": "object", "required": ["Id"], "properties": {"Id": INT}},
            {"type": "object", "required": ["Id", "Name"], "properties": {"Name": STR}},
        ]
    }
    missing = "missing, but the spec requires it"
    assert _problems(widget, {}) == [("$.Id", missing), ("$.Name", missing)]
    assert _problems(widget, {"Name": 5}) == [
        ("$.Id", missing),
        ("$.Name", "an integer, the spec says string (e.g. 5)"),
    ]


def test_errors_reads_the_schema_with_or_without_the_hash_and_again() -> None:
    spec = Spec(_document({"Widget": {"type": "object", "properties": {"A": INT}}}))
    for _ in range(2):
        assert spec.errors({"A": "x"}, "#/components/schemas/Widget") == [
            ("$.A", 'a string, the spec says integer (e.g. "x")')
        ]
        assert spec.errors({"A": 1}, "/components/schemas/Widget") == []
        assert spec.errors({"A": 1, "B": 2}, "/components/schemas/Widget") == [
            _undocumented("$.B", "an integer")
        ]
    with pytest.raises(SpecError) as info:
        spec.errors({}, "#/components/schemas/Nope")
    assert str(info.value) == "cannot resolve #/components/schemas/Nope"
    assert spec.document["components"]["schemas"]["Widget"] == {"type": "object", "properties": {"A": INT}}


def test_errors_of_the_packaged_spec_on_a_customer() -> None:
    spec = Spec(load_spec())
    assert spec.errors({"CustomerID": 1, "XyzzyCount": [1]}, "#/components/schemas/Customer") == [
        _undocumented("$.XyzzyCount", "an array")
    ]


def test_keys_json_cannot_take_become_text_at_any_depth() -> None:
    example = [{date(2024, 1, 2): 5}, {"XyzzyDay": [{date(2024, 1, 3): 6}]}]
    document = {"paths": {}, "x-examples": {"by-day": example, True: 1, None: 2, 7: 3, 1.5: 4}}
    assert Spec(document).document["x-examples"] == {
        "by-day": [{"2024-01-02": 5}, {"XyzzyDay": [{"2024-01-03": 6}]}],
        "true": 1,  # as JSON writes the keys it can take
        "null": 2,
        "7": 3,
        "1.5": 4,
    }
