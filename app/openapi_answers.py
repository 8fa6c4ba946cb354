"""What answers carry, said exactly: required output fields, and the nulls of examples."""

from __future__ import annotations

from typing import Any


def _referenced(node: Any, schemas: dict[str, Any], found: set[str]) -> set[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            if name not in found:
                found.add(name)
                _referenced(schemas.get(name), schemas, found)
        for value in node.values():
            _referenced(value, schemas, found)
    elif isinstance(node, list):
        for value in node:
            _referenced(value, schemas, found)
    return found


def require_output_fields(schema: dict[str, Any]) -> None:
    """A field with a default is optional in a request, but every answer carries it: the
    schemas only answers use list all their properties as required, so clients need not
    treat them as maybe-absent."""
    schemas = schema.get("components", {}).get("schemas", {})
    answers: list[Any] = []
    requests: list[Any] = []
    for operations in schema["paths"].values():
        for operation in operations.values():
            requests += [operation.get("parameters"), operation.get("requestBody")]
            answers += [r for code, r in operation["responses"].items() if code < "400"]
    output_only = _referenced(answers, schemas, set()) - _referenced(requests, schemas, set())
    for name in output_only:
        properties = schemas[name].get("properties")
        if properties:
            schemas[name]["required"] = list(properties)


def _allows_null(schema: dict[str, Any]) -> bool:
    options = schema.get("anyOf") or schema.get("oneOf") or [schema]
    return any(option.get("type") == "null" for option in options)


def restore_example_nulls(schema: dict[str, Any]) -> None:
    """FastAPI drops every None while encoding the document, the `null`s of the models'
    examples included; put them back where the property is required and nullable, so the
    examples validate against their own schema."""
    for component in schema.get("components", {}).get("schemas", {}).values():
        properties = component.get("properties", {})
        nullable = [
            name
            for name in component.get("required", [])
            if name in properties and _allows_null(properties[name])
        ]
        for example in component.get("examples", []):
            if isinstance(example, dict):
                for name in nullable:
                    example.setdefault(name, None)
