"""The policy by name: every refused address class reached through a BIND name, names that mix
good and bad addresses, names that do not resolve, and the CA URL rules as written."""

from __future__ import annotations

import pytest

from app.egress.policy import EgressPolicy, EgressRefused, EgressUnresolved
from app.settings import EgressSettings
from tests.egress.addresses import ALL_REFUSED, PUBLIC
from tests.egress.test_addresses import REASONS
from tests.fixtures.egress import EgressNames

NAMEABLE = [(kind, address) for kind, address in ALL_REFUSED if "%" not in address]


@pytest.mark.parametrize(("kind", "address"), NAMEABLE)
async def test_a_name_that_resolves_to_a_refused_address_is_refused(
    egress_names: EgressNames, strict_egress: EgressPolicy, kind: str, address: str
) -> None:
    name = await egress_names.name_for([address])
    with pytest.raises(EgressRefused) as refused:
        await strict_egress.resolve(name, field="body.url")
    assert refused.value.reason.startswith(f"{name} resolves to ")
    assert any(word in refused.value.reason for word in REASONS[kind]), refused.value.reason


async def test_one_bad_address_refuses_the_whole_name(
    egress_names: EgressNames, strict_egress: EgressPolicy
) -> None:
    good = await egress_names.name_for(["8.8.8.8", "2606:4700:4700::1111"])
    assert {str(a) for a in await strict_egress.resolve(good, field="f")} == {
        "8.8.8.8", "2606:4700:4700::1111"
    }  # fmt: skip
    mixed = await egress_names.name_for(["8.8.8.8", "::ffff:127.0.0.1"])
    with pytest.raises(EgressRefused, match="loopback"):
        await strict_egress.resolve(mixed, field="f")


async def test_public_names_pass(egress_names: EgressNames, strict_egress: EgressPolicy) -> None:
    name = await egress_names.name_for(PUBLIC)
    assert len(await strict_egress.resolve(name, field="f")) == len(PUBLIC)


async def test_a_name_without_addresses_is_unresolved_not_refused(
    egress_names: EgressNames, strict_egress: EgressPolicy
) -> None:
    with pytest.raises(EgressUnresolved) as unresolved:
        await strict_egress.resolve(f"nothing.{egress_names.bind.tenant_zone}", field="body.url")
    assert unresolved.value.status == 422 and unresolved.value.errors[0]["field"] == "body.url"


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST.", "api.localhost"])
async def test_this_machine_is_refused_by_name(strict_egress: EgressPolicy, host: str) -> None:
    with pytest.raises(EgressRefused, match="this machine"):
        await strict_egress.resolve(host, field="f")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://acme.sectigo.com/v2/DV", "must use https"),
        ("https://acme.sectigo.com:8443/v2/DV", "port 8443"),
        ("https://acme.sectigo.com:80/v2/DV", "port 80"),
        ("https://evil.example.com/v2/DV", "not an allowed CA endpoint"),
        ("https://sectigo.com.evil.example/x", "not an allowed CA endpoint"),
        ("https://user:pw@cert-manager.com/api", "credentials"),
        ("https://127.0.0.1/dir", "not an allowed CA endpoint"),
    ],
)
def test_ca_urls_as_written(strict_egress: EgressPolicy, url: str, reason: str) -> None:
    with pytest.raises(EgressRefused, match=reason) as refused:
        strict_egress.check_url(url, field="body.acme.directory_url")
    assert refused.value.errors[0]["field"] == "body.acme.directory_url"


def test_an_allowed_ca_host_given_as_a_refused_literal_is_refused() -> None:
    policy = EgressPolicy(EgressSettings(ca_host_allowlist=["*"]))
    for url in ("https://127.0.0.1/dir", "https://[::ffff:10.0.0.1]/dir", "https://[fe80::1]/"):
        with pytest.raises(EgressRefused):
            policy.check_url(url, field="f")
    assert policy.check_url("https://acme.sectigo.com/v2/DV", field="f").host == "acme.sectigo.com"


def test_webhook_urls_take_any_port_and_http_only_when_allowed(
    strict_egress: EgressPolicy,
) -> None:
    assert strict_egress.check_url("https://hooks.example.com:8443/x", field="f", kind="webhook")
    with pytest.raises(EgressRefused, match="https"):
        strict_egress.check_url("http://hooks.example.com/x", field="f", kind="webhook")
    assert strict_egress.check_url(
        "http://hooks.example.com/x", field="f", kind="webhook", allow_http=True
    )


async def test_a_refusal_is_logged(
    strict_egress: EgressPolicy, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(EgressRefused):
        strict_egress.check_ip("10.0.0.1", field="body.url")
    (record,) = [r for r in caplog.records if r.name == "certbroker.egress"]
    assert record.field == "body.url" and "private" in record.reason  # type: ignore[attr-defined]
