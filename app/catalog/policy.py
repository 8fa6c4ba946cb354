"""Ordering policy: every check an order must pass before anything is queued, as pure functions.

Each failure is a FieldProblem naming the request field it concerns, so the API can answer a
422 that tells the caller exactly what to change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.catalog.names import covered_by, is_wildcard, name_problem, www_twin
from app.catalog.products import Backend, KeyType, Product


@dataclass(frozen=True, slots=True)
class FieldProblem:
    field: str  # dotted request field, e.g. "body.sans.2"
    message: str
    kind: str = "policy"


@dataclass(frozen=True, slots=True)
class OrgPolicy:
    """The parts of an organization's settings that decide what it may order."""

    allowed_domains: tuple[str, ...]
    catalog: tuple[str, ...]  # product codes it may order; empty = every product
    default_terms: dict[str, int] = field(default_factory=dict)
    backend_overrides: dict[str, Backend] = field(default_factory=dict)
    auto_approve: bool = True


def check_product(product: Product | None, code: str, org: OrgPolicy) -> list[FieldProblem]:
    if product is None:
        return [FieldProblem("body.product", f"unknown product {code!r}", "unknown")]
    if org.catalog and product.code not in org.catalog:
        allowed = ", ".join(org.catalog)
        return [
            FieldProblem(
                "body.product",
                f"{product.code!r} is not in this organization's catalog ({allowed})",
            )
        ]
    return []


def check_names(
    product: Product, names: list[str], org: OrgPolicy, field_name: str = "body.sans"
) -> list[FieldProblem]:
    """Names are the full list with the common name first."""
    problems: list[FieldProblem] = []
    for index, name in enumerate(names):
        where = "body.common_name" if index == 0 else f"{field_name}.{index - 1}"
        reason = name_problem(name)
        if reason:
            problems.append(FieldProblem(where, f"{name!r}: {reason}", "invalid_name"))
            continue
        if is_wildcard(name) and not product.wildcard_allowed:
            problems.append(
                FieldProblem(
                    where,
                    f"{name!r}: {product.name} does not allow wildcards; choose a wildcard product",
                )
            )
        if not any(covered_by(name, domain) for domain in org.allowed_domains):
            problems.append(
                FieldProblem(
                    where,
                    f"{name!r} is not under the organization's allowed domains"
                    f" ({', '.join(org.allowed_domains) or 'none configured'})",
                    "domain_not_allowed",
                )
            )
    if len(set(names)) != len(names):
        problems.append(FieldProblem(field_name, "names are repeated", "duplicate"))
    if len(names) > product.max_names:
        problems.append(
            FieldProblem(
                field_name,
                f"{product.name} allows at most {product.max_names} names, got {len(names)}",
                "too_many_names",
            )
        )
    elif not product.multi_domain and len(names) == 2 and not problems:
        cn, other = names
        if product.wildcard_allowed:
            if not (is_wildcard(cn) and other == cn[2:]) and not (
                is_wildcard(other) and cn == other[2:]
            ):
                problems.append(
                    FieldProblem(
                        field_name,
                        f"{product.name} covers one wildcard and its base name only"
                        " (e.g. *.example.com and example.com)",
                    )
                )
        elif other != www_twin(cn):
            problems.append(
                FieldProblem(
                    field_name,
                    f"{product.name} covers one name and its www. twin only"
                    f" ({www_twin(cn)}); choose a multi-domain product for {other}",
                )
            )
    return problems


def check_key_type(
    product: Product, key_type: KeyType | None, field_name: str
) -> list[FieldProblem]:
    if key_type is None:
        return [
            FieldProblem(
                field_name, "unsupported key: use ECDSA P-256/P-384 or RSA 2048/3072/4096", "key"
            )
        ]
    if key_type not in product.key_types:
        allowed = ", ".join(sorted(product.key_types))
        return [
            FieldProblem(
                field_name,
                f"{product.name} does not accept {key_type} keys (allowed: {allowed})",
                "key",
            )
        ]
    return []


def choose_term(
    product: Product, requested: int | None, org: OrgPolicy
) -> tuple[int, list[FieldProblem]]:
    term = requested or org.default_terms.get(product.code) or product.default_term
    if term not in product.terms_days:
        allowed = ", ".join(str(t) for t in product.terms_days)
        return term, [
            FieldProblem(
                "body.term_days",
                f"{term} days is not offered for {product.name} (allowed: {allowed})",
                "term",
            )
        ]
    return term, []


def route(product: Product, org: OrgPolicy) -> Backend:
    return org.backend_overrides.get(product.code, product.default_backend)


def approval_required(product: Product, org: OrgPolicy) -> bool:
    return product.approval_required or not org.auto_approve
