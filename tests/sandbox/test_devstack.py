"""`certbroker dev` end to end: the whole sandbox on free ports, then the newcomer's three orders
(DV through pebble, OV and EV through the SCM simulator) with the demo credentials."""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509

from app.demo import SANDBOX_ORGANIZATION
from app.sandbox.devstack import DevStack, DevStackConfig
from app.sandbox.pebble import PebblePorts
from app.sandbox.ports import PortTaken, free_port


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[DevStack]:
    config = DevStackConfig(
        var_dir=tmp_path / "var",
        api_port=free_port(),
        scm_port=free_port(),
        worker_metrics_port=free_port(),
        pebble=PebblePorts(
            acme=free_port(),
            management=free_port(),
            dns=free_port(),
            challtestsrv=free_port(),
            tls_alpn=free_port(),
        ),
        env={
            "CERTBROKER_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'certbroker.db'}",
            "CERTBROKER_JOBS__QUEUE_NAME": f"certbroker:devstack-test:{uuid.uuid4().hex[:8]}",
            "CERTBROKER_JOBS__RECONCILE_INTERVAL_SECONDS": "5",
        },
    )
    # The children's logs go to stdout, which pytest shows when the test fails.
    with DevStack(config) as running:
        yield running


def token(api: httpx.Client, credentials: dict[str, str]) -> dict[str, str]:
    answer = api.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(credentials["client_id"], credentials["client_secret"]),
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def wait_until_settled(
    api: httpx.Client, headers: dict[str, str], cert_ids: list[str], timeout: float = 40.0
) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        certs = {
            cert_id: api.get(f"/v1/certificates/{cert_id}", headers=headers).json()
            for cert_id in cert_ids
        }
        if all(c["status"] in ("issued", "failed") for c in certs.values()):
            return certs
        if time.monotonic() > deadline:
            raise AssertionError({k: c["status"] for k, c in certs.items()})
        time.sleep(0.2)


def test_make_run_sandbox_issues_dv_ov_and_ev(stack: DevStack) -> None:
    credentials = stack.credentials
    org_id = credentials["sandbox_organization_id"]
    with httpx.Client(base_url=stack.config.api_url, timeout=30) as api:
        requester = token(api, credentials)
        approver = token(api, credentials["approver"])

        org = api.get(f"/v1/organizations/{org_id}", headers=requester).json()
        assert org["name"] == SANDBOX_ORGANIZATION and org["sandbox"] is True
        assert org["approvers"] == {"EV": [credentials["approver"]["client_id"]]}
        # The simulator's pre-validated domains, read from it at start (a worker job).
        deadline = time.monotonic() + 30
        while True:
            domains = api.get("/v1/domains", params={"organization_id": org_id}, headers=requester)
            ready = {d["name"]: d["ready_for"] for d in domains.json()["items"]}
            if ready.get("example.com") == ready.get("example.org") == ["DV", "OV", "EV"]:
                break
            assert time.monotonic() < deadline, ready
            time.sleep(0.2)

        orders = {
            "positivessl": "dv-sandbox.example.com",
            "instantssl": "ov-sandbox.example.org",
            "ev-ssl": "ev-sandbox.example.com",
        }
        ids = {}
        for product, name in orders.items():
            answer = api.post(
                "/v1/certificates",
                json={"organization_id": org_id, "product": product, "common_name": name},
                headers=requester,
            )
            assert answer.status_code == 202, answer.text
            ids[product] = answer.json()["id"]

        pending = api.get("/v1/approvals", headers=approver).json()["items"]
        (approval,) = [a for a in pending if a["certificate_id"] == ids["ev-ssl"]]
        own = api.post(f"/v1/approvals/{approval['id']}/approve", json={}, headers=requester)
        assert own.status_code == 403  # the requester never approves its own order
        decided = api.post(
            f"/v1/approvals/{approval['id']}/approve",
            json={"comment": "sandbox"},
            headers=approver,
        )
        assert decided.status_code == 200, decided.text

        certs = wait_until_settled(api, requester, list(ids.values()))
        for product, cert_id in ids.items():
            cert = certs[cert_id]
            assert cert["status"] == "issued", (product, cert)
            full = api.get(f"/v1/certificates/{cert_id}/fullchain.pem", headers=requester)
            assert full.status_code == 200
            chain = x509.load_pem_x509_certificates(full.content)
            assert len(chain) >= 2
            leaf_names = (
                chain[0]
                .extensions.get_extension_for_class(x509.SubjectAlternativeName)
                .value.get_values_for_type(x509.DNSName)
            )
            assert orders[product] in leaf_names
            lifetime = chain[0].not_valid_after_utc - chain[0].not_valid_before_utc
            assert lifetime.days <= 366, (product, lifetime)  # pebble too: a year, not five
        assert certs[ids["positivessl"]]["backend"] == "acme"
        assert certs[ids["instantssl"]]["backend"] == certs[ids["ev-ssl"]]["backend"] == "scm"
        # Both processes' metrics, on by default in the sandbox: the API's and the worker's.
        api_metrics = api.get("/metrics")
        assert (
            api_metrics.status_code == 200 and "certbroker_certificate_expiry" in api_metrics.text
        )
        worker = httpx.get(f"http://127.0.0.1:{stack.config.worker_metrics_port}/metrics")
        assert 'kind="certificate.issue"' in worker.text, worker.text[:500]


def test_a_taken_port_is_named(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = DevStackConfig(var_dir=tmp_path, api_port=free_port(), scm_port=port)
        with pytest.raises(PortTaken, match=f"127.0.0.1:{port} \\(SCM simulator\\)"):
            DevStack(config, out=io.StringIO()).start()
