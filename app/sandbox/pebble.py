"""Pebble and pebble-challtestsrv as a local ACME CA for development (`certbroker dev`).

Everything lives in one directory (var/sandbox/pebble by default): a throwaway TLS CA and a
localhost leaf for pebble's HTTPS listener, pebble's config, its log, and the External Account
Binding credentials (kid and base64url HMAC key without padding), generated once and kept so an
organization wired to them keeps working across restarts.

challtestsrv answers every DNS name with 127.0.0.1 (and no AAAA, or pebble dials ::1 first),
and pebble validates HTTP-01 on `http01` — the broker API's own port — so challenges are served
by the API's /.well-known/acme-challenge/{token} route exactly as in production.
Pebble keeps nothing across restarts: accounts, orders and its roots are new each time.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import secrets
import shutil
import ssl
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.sandbox.ports import require_free

TLS_VALIDITY = dt.timedelta(days=365)
TLS_RENEW_BEFORE = dt.timedelta(days=7)
DV_VALIDITY_SECONDS = 365 * 86400  # what pebble gives its certificates (its default: 5 years)


@dataclass(frozen=True)
class PebblePorts:
    """Fixed development ports by default; tests pass free ones."""

    acme: int = 14000
    management: int = 15000
    dns: int = 8053  # challtestsrv's DNS (UDP and TCP)
    challtestsrv: int = 8055  # challtestsrv's management API
    http01: int = 8000  # where pebble fetches HTTP-01 tokens: the broker API
    tls_alpn: int = 5001  # dialled only for tls-alpn-01, which the broker does not use


@dataclass(frozen=True)
class PebbleFiles:
    workdir: Path
    ca_bundle: Path  # trust this to reach pebble over HTTPS
    leaf_cert: Path
    leaf_key: Path
    eab_kid: str
    eab_hmac_key: str = field(repr=False)  # base64url, no padding


def prepare_files(workdir: Path) -> PebbleFiles:
    """Create (once) the listener TLS files and the EAB credentials under `workdir`."""
    workdir.mkdir(parents=True, exist_ok=True)
    ca, leaf, key = workdir / "tls-ca.pem", workdir / "tls-leaf.pem", workdir / "tls-leaf.key"
    if not (ca.exists() and key.exists() and _still_valid(leaf)):
        write_listener_tls(ca, leaf, key)
    eab_file = workdir / "eab.json"
    if not eab_file.exists():
        hmac_key = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
        eab = {"kid": f"sandbox-{secrets.token_hex(4)}", "hmac_key": hmac_key}
        eab_file.write_text(json.dumps(eab, indent=2) + "\n")
        eab_file.chmod(0o600)
    eab = json.loads(eab_file.read_text())
    return PebbleFiles(
        workdir, ca.resolve(), leaf.resolve(), key.resolve(), eab["kid"], eab["hmac_key"]
    )


def _still_valid(cert_path: Path) -> bool:
    if not cert_path.exists():
        return False
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return cert.not_valid_after_utc - dt.datetime.now(dt.UTC) > TLS_RENEW_BEFORE


def write_listener_tls(ca_path: Path, leaf_path: Path, key_path: Path) -> None:
    """A throwaway CA and a localhost/127.0.0.1/::1 leaf for pebble's HTTPS listener."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "certbroker sandbox pebble CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + TLS_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    names = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + TLS_VALIDITY)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    leaf_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)


@dataclass
class PebbleSandbox:
    """A running pebble and challtestsrv; `stop()` ends both."""

    files: PebbleFiles
    ports: PebblePorts
    processes: list[subprocess.Popen[bytes]] = field(repr=False)

    @property
    def directory_url(self) -> str:
        return f"https://127.0.0.1:{self.ports.acme}/dir"

    @property
    def management_url(self) -> str:
        return f"https://127.0.0.1:{self.ports.management}"

    @property
    def log_file(self) -> Path:
        return self.files.workdir / "pebble.log"

    def stop(self) -> None:
        for process in reversed(self.processes):
            stop_process(process)


def binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/bin")
    if found is None:
        raise RuntimeError(f"{name} is not installed: `make system-deps` (Debian package pebble)")
    return found


def check_ports(ports: PebblePorts) -> None:
    require_free(ports.acme, "pebble ACME")
    require_free(ports.management, "pebble management")
    require_free(ports.dns, "challtestsrv DNS")
    require_free(ports.dns, "challtestsrv DNS", udp=True)
    require_free(ports.challtestsrv, "challtestsrv management")


def start_pebble_sandbox(
    workdir: Path,
    ports: PebblePorts = PebblePorts(),
    *,
    preexec_fn: Callable[[], Any] | None = None,
    timeout: float = 15.0,
) -> PebbleSandbox:
    """Start challtestsrv, then pebble resolving through it; wait until pebble answers."""
    check_ports(ports)
    files = prepare_files(workdir)
    config = {
        "pebble": {
            "listenAddress": f"127.0.0.1:{ports.acme}",
            "managementListenAddress": f"127.0.0.1:{ports.management}",
            "certificate": str(files.leaf_cert),
            "privateKey": str(files.leaf_key),
            "httpPort": ports.http01,
            "tlsPort": ports.tls_alpn,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": True,
            "externalAccountMACKeys": {files.eab_kid: files.eab_hmac_key},
            "domainBlocklist": [],
            # A year, as a DV certificate from Sectigo (pebble's default is five years).
            "certificateValidityPeriod": DV_VALIDITY_SECONDS,
        }
    }
    (workdir / "pebble.json").write_text(json.dumps(config, indent=2) + "\n")
    (workdir / "pebble.json").chmod(0o600)  # it holds the EAB HMAC key
    sandbox = PebbleSandbox(files, ports, [])
    try:
        sandbox.processes.append(_start_challtestsrv(workdir, ports, preexec_fn, timeout))
        with open(sandbox.log_file, "ab") as log:
            pebble = subprocess.Popen(
                [
                    binary("pebble"),
                    "-config",
                    str(workdir / "pebble.json"),
                    "-dnsserver",
                    f"127.0.0.1:{ports.dns}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={"PATH": "/usr/bin:/bin", "PEBBLE_VA_NOSLEEP": "1"},
                start_new_session=True,  # Ctrl-C reaches the supervisor, which stops us
                preexec_fn=preexec_fn,  # only sets the parent-death signal
            )
        sandbox.processes.append(pebble)
        _wait_for_directory(sandbox, pebble, timeout)
    except BaseException:
        sandbox.stop()
        raise
    return sandbox


def _start_challtestsrv(
    workdir: Path, ports: PebblePorts, preexec_fn: Callable[[], Any] | None, timeout: float
) -> subprocess.Popen[bytes]:
    with open(workdir / "challtestsrv.log", "ab") as log:
        process = subprocess.Popen(
            [
                binary("pebble-challtestsrv"),
                "-defaultIPv4",
                "127.0.0.1",
                "-defaultIPv6",
                "",
                "-dns01",
                f"127.0.0.1:{ports.dns}",
                "-http01",
                "",
                "-https01",
                "",
                "-tlsalpn01",
                "",
                "-management",
                f"127.0.0.1:{ports.challtestsrv}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=preexec_fn,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            httpx.post(f"http://127.0.0.1:{ports.challtestsrv}/clear-txt", json={"host": "probe."})
            return process
        except httpx.HTTPError:
            time.sleep(0.05)
    stop_process(process)
    raise RuntimeError(
        f"pebble-challtestsrv did not start; see {workdir / 'challtestsrv.log'}:\n"
        + _tail(workdir / "challtestsrv.log")
    )


def _wait_for_directory(
    sandbox: PebbleSandbox, process: subprocess.Popen[bytes], timeout: float
) -> None:
    context = ssl.create_default_context(cafile=str(sandbox.files.ca_bundle))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(sandbox.directory_url, verify=context).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"pebble did not start; see {sandbox.log_file}:\n{_tail(sandbox.log_file)}")


def _tail(path: Path, lines: int = 20) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def stop_process(process: subprocess.Popen[Any], timeout: float = 5.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)
