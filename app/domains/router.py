"""Domain pre-validation: register a domain, start its validation, see what it is ready for."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.auth.dependencies import require_scopes
from app.auth.principal import Scope
from app.catalog.names import normalise
from app.deps import DbSession, RuntimeDep
from app.domains import service
from app.domains.jobs import instructions_json, register_at_scm
from app.domains.models import Domain, DomainStatus
from app.domains.schemas import (
    DomainCreate,
    DomainPage,
    DomainPublic,
    ValidationCreate,
    ValidationPublic,
)
from app.errors import ServiceUnavailable, Unprocessable
from app.http.pages import DEFAULT_LIMIT, MAX_LIMIT
from app.http.routing import GuardedRoute
from app.issuers.scm.dcv import DcvMethod
from app.issuers.scm.errors import ScmError, ScmValidationError
from app.organizations.models import Organization
from app.organizations.scm_access import scm_client_for
from app.organizations.service import get_organization

router = APIRouter(prefix="/v1/domains", tags=["domains"], route_class=GuardedRoute)

Reader = require_scopes(Scope.CERTIFICATES_READ)
Writer = require_scopes(Scope.DOMAINS_WRITE)
NOT_FOUND = {404: {"description": "No such domain in your tenant"}}


async def _public(session: DbSession, domain: Domain, org: Organization) -> DomainPublic:
    latest = await service.latest_validation(session, domain)
    ready: list[str] = ["DV"] if org.acme else []
    if domain.is_valid():
        ready = ["DV", "OV", "EV"]
    return DomainPublic(
        id=domain.id,
        organization_id=domain.organization_id,
        name=domain.name,
        status=domain.status,
        method=domain.method,
        validated_at=domain.validated_at,
        expires_at=domain.expires_at,
        last_error=domain.last_error,
        ready_for=ready,  # type: ignore[arg-type]
        latest_validation=ValidationPublic.model_validate(latest) if latest else None,
        created_at=domain.created_at,
    )


@router.post("", operation_id="domains_create", status_code=201, response_model=DomainPublic)
async def create_domain(body: DomainCreate, session: DbSession, caller: Writer) -> DomainPublic:
    """Register a domain of an organization (it must be under its allowed domains)."""
    org = await get_organization(session, body.organization_id, caller.tenant_id)
    name = normalise(body.name)
    if name not in org.allowed_domains:
        service.base_domain(org, name)  # names the problem when it is outside them
    domain = await service.ensure_domain(session, org, name)
    return await _public(session, domain, org)


@router.get("", operation_id="domains_list", response_model=DomainPage)
async def list_domains(
    session: DbSession,
    caller: Reader,
    organization_id: str | None = None,
    status: DomainStatus | None = None,
    name: Annotated[
        str | None, Query(max_length=253, description="this domain and those under it")
    ] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> DomainPage:
    """Domains by name and which validation levels each is ready for, as the CA reports them
    (each organization's domains are read from SCM when it is created, on
    `POST /v1/organizations/{id}/domains/sync` and in every inventory sync)."""
    domains, next_cursor = await service.list_domains(
        session,
        caller.tenant_id,
        organization_id=organization_id,
        status=status,
        name=name,
        cursor=cursor,
        limit=limit,
    )
    orgs: dict[str, Organization] = {}
    answer = []
    for domain in domains:
        if domain.organization_id not in orgs:
            orgs[domain.organization_id] = await get_organization(
                session, domain.organization_id, caller.tenant_id
            )
        answer.append(await _public(session, domain, orgs[domain.organization_id]))
    return DomainPage(items=answer, next_cursor=next_cursor, limit=limit)


@router.get(
    "/{domain_id}", operation_id="domains_get", response_model=DomainPublic, responses=NOT_FOUND
)
async def get_domain(domain_id: str, session: DbSession, caller: Reader) -> DomainPublic:
    domain = await service.get_domain(session, domain_id, caller.tenant_id)
    org = await get_organization(session, domain.organization_id, caller.tenant_id)
    return await _public(session, domain, org)


@router.post(
    "/{domain_id}/validations",
    operation_id="domains_validate",
    status_code=201,
    response_model=ValidationPublic,
    responses={**NOT_FOUND, 503: {"description": "SCM could not be reached; try again"}},
)
async def start_validation(
    domain_id: str,
    body: ValidationCreate,
    session: DbSession,
    runtime: RuntimeDep,
    caller: Writer,
) -> ValidationPublic:
    """Start domain control validation at SCM. The answer says what to publish; the worker
    then follows the validation to `validated`, `failed` or `expired`."""
    domain = await service.get_domain(session, domain_id, caller.tenant_id)
    org = await get_organization(session, domain.organization_id, caller.tenant_id)
    config, client = scm_client_for(runtime, org)
    instructions: dict = {}
    method = DcvMethod(body.method)
    try:
        await register_at_scm(client, domain, config.org_id)
        if method is DcvMethod.TXT:
            submitted = await client.dcv_submit(domain.name, method)
            if submitted.instructions:
                instructions = instructions_json(submitted.instructions)
        else:
            instructions = instructions_json(await client.dcv_start(domain.name, method))
    except ScmValidationError as exc:
        raise Unprocessable.field(
            "body.method", f"SCM refused to start {body.method}: {exc}"
        ) from None
    except ScmError as exc:
        raise ServiceUnavailable(f"SCM could not be reached: {type(exc).__name__}") from None
    candidates = instructions.get("emails") or []
    if body.email and method is DcvMethod.EMAIL and candidates and body.email not in candidates:
        raise Unprocessable.field(
            "body.email", "not one of the candidates: " + ", ".join(instructions["emails"])
        )
    validation = await service.begin_validation(
        session, domain, body.method, email=body.email, instructions=instructions
    )
    validation.submitted_at_ca = method is DcvMethod.TXT
    return ValidationPublic.model_validate(validation)
