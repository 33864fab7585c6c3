"""Every JSON body the API accepts is documented with an example (API.md asks for it)."""

from __future__ import annotations

from typing import Any

from gateway.app import create_app


def documented(spec: dict[str, Any], media: dict[str, Any]) -> bool:
    if "example" in media or "examples" in media:
        return True
    schema = media.get("schema", {})
    refs = [schema.get("$ref")] + [s.get("$ref") for s in schema.get("anyOf", [])]
    for ref in filter(None, refs):
        component = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
        if "example" in component or "examples" in component:
            return True
    return False


def test_every_json_request_body_has_an_example() -> None:
    spec = create_app().openapi()
    missing = [
        f"{method.upper()} {path}"
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
        and (media := operation["requestBody"]["content"].get("application/json")) is not None
        and not documented(spec, media)
    ]
    assert missing == []
