"""The published document says what the server does: problems on every operation, examples
that validate, public operations marked public, 405s that name every method of the path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema_rs
import pytest
from starlette.requests import Request

from app.http.negotiation import negotiate
from app.http.problems import PROBLEM_JSON
from app.openapi_export import build_spec

SPEC = build_spec()
OPERATIONS = [
    (method.upper(), path, operation)
    for path, operations in SPEC["paths"].items()
    for method, operation in operations.items()
]
PUBLIC = {"oauth_token", "oauth_jwks", "oauth_metadata", "health_live", "health_ready"}


def _examples(node: Any, pointer: str = "#") -> Iterator[tuple[str, dict[str, Any], Any]]:
    """(where, its schema, example) for every example in the document."""
    if isinstance(node, dict):
        if "schema" in node:  # a media type or a parameter: example(s) of its schema
            if "example" in node:
                yield f"{pointer}/example", node["schema"], node["example"]
            for name, example in (node.get("examples") or {}).items():
                if "value" in example:
                    yield f"{pointer}/examples/{name}", node["schema"], example["value"]
        elif isinstance(node.get("examples"), list):  # a schema's own examples
            for index, example in enumerate(node["examples"]):
                yield f"{pointer}/examples/{index}", node, example
        for key, value in node.items():
            if key not in ("example", "examples"):
                escaped = key.replace("~", "~0").replace("/", "~1")
                yield from _examples(value, f"{pointer}/{escaped}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _examples(value, f"{pointer}/{index}")


def test_every_example_validates_against_its_schema() -> None:
    examples = list(_examples(SPEC))
    # The models' examples, the problems' on every error answer, property examples.
    assert len(examples) > 200
    invalid = []
    for where, schema, example in examples:
        # The document's components ride along so that `#/components/...` references resolve.
        validator = jsonschema_rs.Draft202012Validator({**schema, "components": SPEC["components"]})
        errors = [error.message for error in validator.iter_errors(example)]
        if errors:
            invalid.append(f"{where}: {errors[0]}")
    assert not invalid, "\n".join(invalid)


def test_fastapis_validation_model_is_gone() -> None:
    schemas = SPEC["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert set(schemas["Problem"]["required"]) == {"type", "title", "status", "detail", "instance"}
    assert schemas["Problem"]["properties"]["errors"]["items"] == {
        "$ref": "#/components/schemas/FieldError"
    }


@pytest.mark.parametrize(
    ("method", "path", "operation"), OPERATIONS, ids=[op["operationId"] for *_, op in OPERATIONS]
)
def test_every_error_answer_is_a_problem_with_an_example(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    responses = operation["responses"]
    expected = set()
    if operation["security"]:
        expected |= {"401", "403", "429"}
    if operation["security"] and "{" in path:
        expected.add("404")
    if operation.get("parameters") or operation.get("requestBody"):
        expected.add("422")
    if operation.get("requestBody"):
        expected |= {"400", "413"}
    assert expected <= set(responses), f"{method} {path} misses {expected - set(responses)}"
    for status, answer in responses.items():
        if status < "400":
            continue
        content = answer["content"]
        if operation["operationId"] == "oauth_token" and status in ("400", "401"):
            # RFC 6749's error body first; a body that cannot be parsed is still a problem.
            assert next(iter(content)) == "application/json"
            assert content["application/json"]["schema"]["$ref"].endswith("/OAuthError")
            continue
        assert list(content) == [PROBLEM_JSON], (method, path, status)
        assert content[PROBLEM_JSON]["schema"] == {"$ref": "#/components/schemas/Problem"}
        assert content[PROBLEM_JSON]["example"]["status"] == int(status)
    if operation["security"]:
        assert responses["401"]["headers"]["WWW-Authenticate"]["required"] is True
    if "429" in responses:
        assert responses["429"]["headers"]["Retry-After"]["required"] is True


def test_public_operations_say_so() -> None:
    for _, _, operation in OPERATIONS:
        if operation["operationId"] in PUBLIC:
            assert operation["security"] == [], operation["operationId"]
        else:
            assert operation["security"], operation["operationId"]


def test_answers_have_typed_enums_and_required_fields() -> None:
    schemas = SPEC["components"]["schemas"]
    cert = schemas["CertificatePublic"]
    assert "external" in cert["properties"]["product"]["enum"]
    assert cert["properties"]["backend"]["enum"] == ["acme", "scm", "external"]
    assert cert["properties"]["server_type"]["enum"]
    assert {"$ref": "#/components/schemas/ValidationLevel"} in (
        cert["properties"]["validation_level"]["anyOf"]
    )
    assert schemas["ApprovalPublic"]["properties"]["validation_level"] == {
        "$ref": "#/components/schemas/ValidationLevel"
    }
    # Defaults make request fields optional; answers always carry them.
    organization = schemas["OrganizationPublic"]
    assert set(organization["required"]) == set(organization["properties"])


def test_downloads_offer_generic_types_after_the_registered_one() -> None:
    paths = SPEC["paths"]
    pem = paths["/v1/certificates/{certificate_id}/fullchain.pem"]["get"]["responses"]["200"]
    assert list(pem["content"]) == [
        "application/pem-certificate-chain",
        "text/plain",
        "application/octet-stream",
    ]
    p12 = paths["/v1/certificates/{certificate_id}/pkcs12"]["post"]["responses"]["200"]
    assert list(p12["content"]) == ["application/x-pkcs12", "application/octet-stream"]


def _request(accept: str | None) -> Request:
    headers = [(b"accept", accept.encode())] if accept is not None else []
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers})


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, "application/pem-certificate-chain"),
        ("*/*", "application/pem-certificate-chain"),
        ("text/plain", "text/plain"),
        ("text/*", "text/plain"),
        ("application/octet-stream", "application/octet-stream"),
        ("application/json, */*;q=0.1", "application/pem-certificate-chain"),
        ("text/plain;q=0.5, application/octet-stream", "application/octet-stream"),
        ("text/plain;q=0, */*", "application/pem-certificate-chain"),
        ("application/json", "application/pem-certificate-chain"),  # unmet: the default
    ],
)
def test_negotiation(accept: str | None, chosen: str) -> None:
    offered = ("application/pem-certificate-chain", "text/plain", "application/octet-stream")
    assert negotiate(_request(accept), offered) == chosen


async def test_405_allow_names_every_method_of_the_path(api: httpx.AsyncClient) -> None:
    templates = {
        "/v1/certificates": "/v1/certificates",
        "/v1/organizations/x": "/v1/organizations/{organization_id}",
        "/v1/webhooks/x": "/v1/webhooks/{id}",
        "/oauth/token": "/oauth/token",
    }
    for path, template in templates.items():
        served = {method.upper() for method in SPEC["paths"][template]}
        answer = await api.put(path)
        assert answer.status_code == 405, path
        assert answer.headers["content-type"].startswith(PROBLEM_JSON)
        assert set(answer.headers["allow"].split(", ")) == served, path
