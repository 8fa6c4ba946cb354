"""The seeded tenant: certificate profiles, custom fields, organizations, domains, ACME servers."""

from __future__ import annotations

from dataclasses import dataclass, field

RSA_AND_EC = {"RSA": ["2048", "3072", "4096"], "EC": ["P-256", "P-384"]}


@dataclass(frozen=True)
class Profile:
    id: int
    name: str
    validation: str  # DV, OV or EV
    terms: tuple[int, ...]
    description: str = ""
    requires_approval: bool = False
    use_secondary_org_name: bool = False
    wildcard: bool = False
    key_types: dict[str, list[str]] = field(default_factory=lambda: RSA_AND_EC)

    def public(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "terms": list(self.terms),
            "keyTypes": self.key_types,
            "useSecondaryOrgName": self.use_secondary_org_name,
        }


PROFILES: dict[int, Profile] = {
    p.id: p
    for p in [
        Profile(224, "InstantSSL", "OV", (365,)),
        Profile(225, "InstantSSL Pro", "OV", (365, 730)),
        Profile(227, "InstantSSL Premium Wildcard", "OV", (365,), wildcard=True),
        Profile(283, "EV SSL", "EV", (365,), requires_approval=True),
        Profile(284, "EV Multi-Domain", "EV", (365,), requires_approval=True),
        Profile(301, "PositiveSSL", "DV", (365,)),
        Profile(302, "PositiveSSL Wildcard", "DV", (365,), wildcard=True),
        Profile(311, "PositiveSSL Multi-Domain", "DV", (365, 730)),
    ]
}

VALIDATION_TYPES = {
    "DV": "Domain Validation (DV)",
    "OV": "Organization Validation (OV)",
    "EV": "Extended Validation (EV)",
}

CUSTOM_FIELDS = [
    {"id": 57, "name": "costCenter", "mandatory": True},
    {"id": 58, "name": "ticketId", "mandatory": False},
]


@dataclass(frozen=True)
class Organization:
    id: int
    name: str
    cert_types: tuple[str, ...]
    city: str
    state: str
    country: str
    address1: str
    postal_code: str
    parent_id: int | None = None
    secondary_name: str = ""
    profile_ids: tuple[int, ...] = tuple(PROFILES)


ORGANIZATIONS: dict[int, Organization] = {
    o.id: o
    for o in [
        Organization(
            1234,
            "Example University",
            ("SSL", "SMIME"),
            "Ann Arbor",
            "Michigan",
            "US",
            "500 S State St",
            "48109",
            secondary_name="EXU",
        ),
        Organization(
            4321,
            "IT",
            ("SSL",),
            "Ann Arbor",
            "Michigan",
            "US",
            "500 S State St",
            "48109",
            parent_id=1234,
        ),
        Organization(
            4322,
            "Research",
            ("SSL", "SMIME"),
            "Ann Arbor",
            "Michigan",
            "US",
            "500 S State St",
            "48109",
            parent_id=1234,
        ),
        Organization(
            5678, "Example Corp", ("SSL",), "Berlin", "Berlin", "DE", "Unter den Linden 1", "10117"
        ),
        Organization(
            8765,
            "Platform",
            ("SSL",),
            "Berlin",
            "Berlin",
            "DE",
            "Unter den Linden 1",
            "10117",
            parent_id=5678,
        ),
        # No SSL at all: enrolling here is refused, so clients can test that path.
        Organization(
            9100,
            "Mail Only Ltd",
            ("SMIME",),
            "Leeds",
            "West Yorkshire",
            "GB",
            "1 Park Row",
            "LS1 5AB",
            profile_ids=(),
        ),
    ]
}


def top_level_org(org_id: int) -> Organization:
    org = ORGANIZATIONS[org_id]
    return ORGANIZATIONS[org.parent_id] if org.parent_id else org


# name -> (validated, method, delegated org ids). Subdomains are covered by their parent.
SEED_DOMAINS: dict[str, tuple[bool, str, tuple[int, ...]]] = {
    "example.com": (True, "CNAME", (1234, 5678)),
    "*.example.com": (True, "CNAME", (1234, 5678)),
    "example.org": (True, "EMAIL", (1234,)),
    "*.example.org": (True, "EMAIL", (1234,)),
    "example.net": (False, "", (1234, 5678)),
    "example.io": (False, "", (5678,)),
}

ACME_SERVERS = [
    {
        "url": f"https://acme.sectigo.com/v2/{kind}",
        "caId": ca_id,
        "name": f"{kind} ACME Server",
        "singleProductId": single,
        "multiProductId": single + 1,
        "wcProductId": single + 2,
        "certValidationType": kind,
        "active": True,
    }
    for kind, ca_id, single in [("DV", 71, 301), ("OV", 72, 224), ("EV", 73, 283)]
]
