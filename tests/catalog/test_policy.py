"""Ordering policy as pure functions: no database, no network."""

from __future__ import annotations

import pytest

from app.catalog.names import covered_by, name_problem, normalise
from app.catalog.policy import (
    OrgPolicy,
    approval_required,
    check_key_type,
    check_names,
    check_product,
    choose_term,
    route,
)
from app.catalog.products import PRODUCTS, Backend, KeyType

ORG = OrgPolicy(allowed_domains=("example.com", "example.org"), catalog=())


def messages(problems: list) -> list[str]:
    return [f"{p.field}: {p.message}" for p in problems]


def test_catalog_has_the_eight_products() -> None:
    assert set(PRODUCTS) == {
        "positivessl",
        "positivessl-wildcard",
        "positivessl-multi-domain",
        "instantssl",
        "instantssl-pro",
        "instantssl-premium-wildcard",
        "ev-ssl",
        "ev-multi-domain",
    }
    assert {p.default_backend for p in PRODUCTS.values() if p.validation_level == "DV"} == {
        Backend.ACME
    }
    assert {p.default_backend for p in PRODUCTS.values() if p.validation_level != "DV"} == {
        Backend.SCM
    }
    assert {p.code for p in PRODUCTS.values() if p.approval_required} == {
        "ev-ssl",
        "ev-multi-domain",
    }


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("example.com", None),
        ("*.example.com", None),
        ("localhost", "not a fully qualified domain name"),
        ("10.0.0.1", "IP addresses are not supported"),
        ("a.*.example.com", "wildcard is only allowed"),
        ("-bad.example.com", "is not a valid DNS label"),
        ("under_score.example.com", "is not a valid DNS label"),
    ],
)
def test_name_rules(name: str, reason: str | None) -> None:
    problem = name_problem(name)
    assert (problem is None) if reason is None else (reason in (problem or ""))


def test_normalise_and_coverage() -> None:
    assert normalise("WWW.Example.COM.") == "www.example.com"
    assert normalise("bücher.example") == "xn--bcher-kva.example"
    assert covered_by("*.api.example.com", "example.com")
    assert covered_by("example.com", "example.com")
    assert not covered_by("badexample.com", "example.com")


def test_names_outside_allowed_domains_are_named() -> None:
    problems = check_names(
        PRODUCTS["positivessl-multi-domain"], ["a.example.com", "b.evil.net"], ORG
    )
    assert messages(problems) == [
        "body.sans.0: 'b.evil.net' is not under the organization's allowed domains "
        "(example.com, example.org)"
    ]


def test_wildcard_rules() -> None:
    assert (
        "does not allow wildcards"
        in messages(check_names(PRODUCTS["positivessl"], ["*.example.com"], ORG))[0]
    )
    assert (
        check_names(PRODUCTS["positivessl-wildcard"], ["*.example.com", "example.com"], ORG) == []
    )
    bad = check_names(PRODUCTS["positivessl-wildcard"], ["*.example.com", "other.example.com"], ORG)
    assert "one wildcard and its base name only" in messages(bad)[0]


def test_single_name_products_allow_only_the_www_twin() -> None:
    product = PRODUCTS["instantssl"]
    assert check_names(product, ["example.com", "www.example.com"], ORG) == []
    assert (
        "www. twin only"
        in messages(check_names(product, ["example.com", "api.example.com"], ORG))[0]
    )
    too_many = check_names(product, ["a.example.com", "b.example.com", "c.example.com"], ORG)
    assert "at most 2 names, got 3" in messages(too_many)[0]


def test_duplicates_product_catalog_terms_keys_routing_approval() -> None:
    assert (
        "repeated"
        in messages(
            check_names(PRODUCTS["ev-multi-domain"], ["a.example.com", "a.example.com"], ORG)
        )[0]
    )
    limited = OrgPolicy(
        allowed_domains=("example.com",), catalog=("positivessl",), auto_approve=False
    )
    assert (
        "not in this organization's catalog"
        in messages(check_product(PRODUCTS["ev-ssl"], "ev-ssl", limited))[0]
    )
    assert "unknown product" in messages(check_product(None, "gold", limited))[0]
    term, problems = choose_term(PRODUCTS["instantssl"], 999, ORG)
    assert (
        term == 999
        and "999 days is not offered for InstantSSL (allowed: 365)" in messages(problems)[0]
    )
    assert choose_term(PRODUCTS["instantssl-pro"], None, ORG) == (365, [])
    assert check_key_type(PRODUCTS["ev-ssl"], KeyType.RSA_2048, "body.csr") == []
    assert "unsupported key" in messages(check_key_type(PRODUCTS["ev-ssl"], None, "body.csr"))[0]
    overridden = OrgPolicy(
        allowed_domains=(), catalog=(), backend_overrides={"positivessl": Backend.SCM}
    )
    assert route(PRODUCTS["positivessl"], overridden) is Backend.SCM
    assert route(PRODUCTS["positivessl"], ORG) is Backend.ACME
    assert approval_required(PRODUCTS["ev-ssl"], ORG)
    assert not approval_required(PRODUCTS["instantssl"], ORG)
    assert approval_required(PRODUCTS["instantssl"], limited)
