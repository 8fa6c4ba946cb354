"""Option validation of popular lexicon providers, from lexicon's own metadata (no network)."""

from __future__ import annotations

from app.dns.lexicon_catalog import catalog, is_secret_option, option_problems


def test_route53() -> None:
    info = catalog()["route53"]
    names = {o.name for o in info.options}
    assert {"auth_access_key", "auth_access_secret", "zone_id", "private_zone"} <= names
    problems = option_problems("route53", {}, {"auth_access_key": "AKIA"})
    if not info.available:  # boto3 is an extra: the catalog says so and saving is refused
        assert problems == [("lexicon_provider", problems[0][1])]
        assert "dns-lexicon[route53]" in problems[0][1]
    else:
        assert problems == [
            ("credentials.auth_access_secret", "route53 requires 'auth_access_secret'")
        ]


def test_cloudflare() -> None:
    assert option_problems("cloudflare", {"zone_id": "z1"}, {"auth_token": "t"}) == []
    assert option_problems("cloudflare", {}, {}) == [
        ("credentials.auth_token", "cloudflare requires 'auth_token'")
    ]
    misplaced = option_problems("cloudflare", {"auth_token": "t"}, {})
    assert (
        "options.auth_token",
        "'auth_token' is a credential: give it in 'credentials'",
    ) in misplaced


def test_azure() -> None:
    credentials = {
        "auth_client_id": "c",
        "auth_client_secret": "s",
        "auth_tenant_id": "t",
        "auth_subscription_id": "sub",
    }
    assert option_problems("azure", {"resource_group": "rg"}, credentials) == []
    assert option_problems("azure", {}, credentials) == [
        ("options.resource_group", "azure requires 'resource_group'")
    ]


def test_google_cloud_dns() -> None:
    good = {"auth_service_account_info": "base64::eyJ9"}
    assert option_problems("googleclouddns", {}, good) == []
    local_file = {"auth_service_account_info": "file::/etc/passwd"}
    assert option_problems("googleclouddns", {}, local_file) == [
        (
            "credentials.auth_service_account_info",
            "file references are not accepted; give the content",
        )
    ]


def test_unknown_names() -> None:
    assert option_problems("nope", {}, {})[0][0] == "lexicon_provider"
    unknown = option_problems("digitalocean", {"region": "x"}, {"auth_token": "t"})
    assert unknown[0][0] == "options.region"


def test_secret_names() -> None:
    assert is_secret_option("auth_token") and is_secret_option("api_key")
    assert not is_secret_option("zone_id") and not is_secret_option("resource_group")
