"""The eight Sectigo products the broker sells, and what each allows."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ValidationLevel(StrEnum):
    DV = "DV"
    OV = "OV"
    EV = "EV"


class Backend(StrEnum):
    ACME = "acme"
    SCM = "scm"


class KeyType(StrEnum):
    EC_P256 = "EC-P256"
    EC_P384 = "EC-P384"
    RSA_2048 = "RSA-2048"
    RSA_3072 = "RSA-3072"
    RSA_4096 = "RSA-4096"


ALL_KEY_TYPES = frozenset(KeyType)
RSA_ONLY = frozenset({KeyType.RSA_2048, KeyType.RSA_3072, KeyType.RSA_4096})


@dataclass(frozen=True, slots=True)
class Product:
    code: str
    name: str  # also the SCM certificate profile name it maps to
    validation_level: ValidationLevel
    wildcard_allowed: bool
    max_names: int  # 1 for single-name products; a wildcard product counts base + wildcard
    key_types: frozenset[KeyType]
    terms_days: tuple[int, ...]
    default_backend: Backend
    approval_required: bool
    description: str

    @property
    def default_term(self) -> int:
        return self.terms_days[0]

    @property
    def multi_domain(self) -> bool:
        # Single-name products still carry the name's www. twin (or the bare base of a
        # wildcard) for free, so they allow two names; only the multi-domain ones allow more.
        return self.max_names > 2


def _product(
    code: str, name: str, level: ValidationLevel, description: str, **kw: object
) -> Product:
    defaults: dict[str, object] = {
        "wildcard_allowed": False,
        "max_names": 1,
        "key_types": ALL_KEY_TYPES,
        "terms_days": (365,),
        "default_backend": Backend.ACME if level is ValidationLevel.DV else Backend.SCM,
        "approval_required": level is ValidationLevel.EV,
    }
    defaults.update(kw)
    return Product(
        code=code, name=name, validation_level=level, description=description, **defaults
    )  # type: ignore[arg-type]


PRODUCTS: dict[str, Product] = {
    p.code: p
    for p in (
        _product(
            "positivessl",
            "PositiveSSL",
            ValidationLevel.DV,
            "Domain-validated, one name (plus its www. twin).",
            max_names=2,
        ),
        _product(
            "positivessl-wildcard",
            "PositiveSSL Wildcard",
            ValidationLevel.DV,
            "Domain-validated wildcard: *.example.com and example.com.",
            wildcard_allowed=True,
            max_names=2,
        ),
        _product(
            "positivessl-multi-domain",
            "PositiveSSL Multi-Domain",
            ValidationLevel.DV,
            "Domain-validated, up to 100 names.",
            max_names=100,
            terms_days=(365, 730),
        ),
        _product(
            "instantssl",
            "InstantSSL",
            ValidationLevel.OV,
            "Organization-validated, one name (plus its www. twin).",
            max_names=2,
        ),
        _product(
            "instantssl-pro",
            "InstantSSL Pro",
            ValidationLevel.OV,
            "Organization-validated with a higher warranty, one name.",
            max_names=2,
            terms_days=(365, 730),
        ),
        _product(
            "instantssl-premium-wildcard",
            "InstantSSL Premium Wildcard",
            ValidationLevel.OV,
            "Organization-validated wildcard.",
            wildcard_allowed=True,
            max_names=2,
        ),
        _product(
            "ev-ssl",
            "EV SSL",
            ValidationLevel.EV,
            "Extended validation, one name; needs approval.",
            max_names=2,
            key_types=RSA_ONLY | {KeyType.EC_P256, KeyType.EC_P384},
        ),
        _product(
            "ev-multi-domain",
            "EV Multi-Domain",
            ValidationLevel.EV,
            "Extended validation, up to 100 names; needs approval.",
            max_names=100,
        ),
    )
}


def get_product(code: str) -> Product | None:
    return PRODUCTS.get(code)
