"""GET /v1/products: the catalog, and what one organization may order from it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.auth.dependencies import require_scopes
from app.auth.principal import Scope
from app.catalog import policy
from app.catalog.products import PRODUCTS, Backend, Product, ValidationLevel
from app.catalog.schemas import NameRules, ProductForOrganization, ProductPage, ProductPublic
from app.deps import DbSession
from app.errors import NotFound
from app.http.cursors import decode_key_cursor, encode_key_cursor
from app.http.pages import DEFAULT_LIMIT, MAX_LIMIT
from app.http.routing import GuardedRoute
from app.organizations.models import Organization
from app.organizations.service import get_organization, org_policy

router = APIRouter(prefix="/v1/products", tags=["products"], route_class=GuardedRoute)

Reader = require_scopes(Scope.CERTIFICATES_READ)
OrganizationQuery = Annotated[
    str | None,
    Query(
        max_length=64,
        description="also answer whether this organization may order each product, which "
        "backend it routes it to, its default term and whether it needs approval",
    ),
]


def _summary(product: Product) -> str:
    if product.multi_domain:
        wildcard = ", wildcards included" if product.wildcard_allowed else ", no wildcards"
        return f"up to {product.max_names} names under the allowed domains{wildcard}"
    if product.wildcard_allowed:
        return "one wildcard and its base name (*.example.com and example.com)"
    return "one name and its www. twin"


def _for_org(product: Product, org: Organization) -> ProductForOrganization:
    rules = org_policy(org)
    backend = policy.route(product, rules)
    term, _ = policy.choose_term(product, None, rules)
    return ProductForOrganization(
        organization_id=org.id,
        allowed=not rules.catalog or product.code in rules.catalog,
        backend=backend,
        backend_configured=bool(org.acme if backend is Backend.ACME else org.scm),
        term_days=term,
        approval_required=policy.approval_required(product, rules),
    )


def public(product: Product, org: Organization | None = None) -> ProductPublic:
    return ProductPublic(
        code=product.code,
        name=product.name,
        description=product.description,
        validation_level=product.validation_level,
        name_rules=NameRules(
            wildcard_allowed=product.wildcard_allowed,
            max_names=product.max_names,
            multi_domain=product.multi_domain,
            summary=_summary(product),
        ),
        key_types=sorted(product.key_types),
        terms_days=list(product.terms_days),
        default_term_days=product.default_term,
        default_backend=product.default_backend,
        approval_required=product.approval_required,
        organization=_for_org(product, org) if org is not None else None,
    )


@router.get(
    "", operation_id="products_list", summary="The product catalog", response_model=ProductPage
)
async def list_products(
    session: DbSession,
    caller: Reader,
    organization_id: OrganizationQuery = None,
    validation_level: ValidationLevel | None = None,
    wildcard: Annotated[bool | None, Query(description="only wildcard products, or none")] = None,
    orderable: Annotated[
        bool | None,
        Query(description="with `organization_id`: only what its catalog allows (or only not)"),
    ] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> ProductPage:
    """Every product the broker sells, in catalog order: validation level, name rules (wildcard,
    most names), key types, terms and default backend. With `organization_id`, each also says
    whether that organization's catalog allows it, which backend its orders go to, their default
    term and whether they wait for approval."""
    org = (
        await get_organization(session, organization_id, caller.tenant_id)
        if organization_id
        else None
    )
    codes = list(PRODUCTS)
    if cursor:
        _, last = decode_key_cursor(cursor)
        codes = codes[codes.index(last) + 1 :] if last in codes else []
    answer = []
    for code in codes:
        product = PRODUCTS[code]
        if validation_level is not None and product.validation_level is not validation_level:
            continue
        if wildcard is not None and product.wildcard_allowed != wildcard:
            continue
        item = public(product, org)
        if orderable is not None and item.organization and item.organization.allowed != orderable:
            continue
        answer.append(item)
    page = answer[:limit]
    more = len(answer) > limit
    return ProductPage(
        items=page,
        next_cursor=encode_key_cursor(None, page[-1].code) if more else None,
        limit=limit,
    )


@router.get(
    "/{code}",
    operation_id="products_get",
    summary="One product",
    response_model=ProductPublic,
    responses={404: {"description": "No such product (or organization in your tenant)"}},
)
async def get_product(
    code: Annotated[str, Path(max_length=64, examples=["positivessl"])],
    session: DbSession,
    caller: Reader,
    organization_id: OrganizationQuery = None,
) -> ProductPublic:
    """What the product allows; with `organization_id`, also how that organization orders it."""
    product = PRODUCTS.get(code)
    if product is None:
        raise NotFound(f"no product {code!r}; GET /v1/products lists them")
    org = (
        await get_organization(session, organization_id, caller.tenant_id)
        if organization_id
        else None
    )
    return public(product, org)
