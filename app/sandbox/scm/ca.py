"""The simulator's own certificate authority: root -> intermediate for leaves, plus a client CA."""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT_NAME = "Sandbox Sectigo RSA Root"
INTERMEDIATE_NAME = "Sandbox Sectigo RSA Organization Validation Secure Server CA"
EV_INTERMEDIATE_NAME = "Sandbox Sectigo RSA Extended Validation Secure Server CA"
CLIENT_CA_NAME = "Sandbox SCM Admin Client CA"

# CA/Browser Forum policy identifiers, so a leaf says whether it is DV, OV or EV.
POLICY_OIDS = {
    "DV": "2.23.140.1.2.1",
    "OV": "2.23.140.1.2.2",
    "EV": "2.23.140.1.1",
}

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass
class KeyPair:
    key: PrivateKey
    cert: x509.Certificate

    @property
    def cert_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def key_pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def to_dict(self) -> dict[str, str]:
        return {"cert": self.cert_pem, "key": self.key_pem}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> KeyPair:
        key = serialization.load_pem_private_key(data["key"].encode(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
        return cls(key, x509.load_pem_x509_certificate(data["cert"].encode()))


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "GB"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Sandbox Sectigo Limited"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _new_key(algorithm: str) -> PrivateKey:
    if algorithm == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def random_serial() -> int:
    # 16 random bytes with the top bit cleared keeps the DER integer positive and <= 20 octets.
    return int.from_bytes(secrets.token_bytes(16), "big") >> 1 or 1


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key, days: int
) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(random_serial())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _ca_cert(
    subject: x509.Name, issuer: KeyPair | None, key: PrivateKey, path_len: int
) -> x509.Certificate:
    issuer_name = issuer.cert.subject if issuer else subject
    signing_key = issuer.key if issuer else key
    builder = (
        _builder(subject, issuer_name, key.public_key(), 3650)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_len), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
    )
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    return builder.sign(signing_key, hashes.SHA256())


class CertificateAuthority:
    """Signs leaves over a CSR's public key; keys are generated once or loaded from saved state."""

    def __init__(
        self,
        root: KeyPair,
        intermediate: KeyPair,
        client_ca: KeyPair,
        ev_intermediate: KeyPair | None = None,
    ) -> None:
        self.root = root
        self.intermediate = intermediate  # DV and OV leaves, as Sectigo's OV/DV issuing CAs
        self.client_ca = client_ca
        # EV leaves chain to an EV issuing CA, as at Sectigo; state saved before it existed
        # gets one now, under the same root.
        if ev_intermediate is None:
            algorithm = "ec" if isinstance(root.key, ec.EllipticCurvePrivateKey) else "rsa"
            key = _new_key(algorithm)
            ev_intermediate = KeyPair(key, _ca_cert(_name(EV_INTERMEDIATE_NAME), root, key, 0))
        self.ev_intermediate = ev_intermediate

    def issuer_for(self, validation: str) -> KeyPair:
        return self.ev_intermediate if validation == "EV" else self.intermediate

    def issuer_of(self, leaf: x509.Certificate) -> KeyPair:
        """The intermediate that signed `leaf`."""
        if leaf.issuer == self.ev_intermediate.cert.subject:
            return self.ev_intermediate
        return self.intermediate

    @classmethod
    def generate(cls, algorithm: str = "rsa") -> CertificateAuthority:
        root_key = _new_key(algorithm)
        root = KeyPair(root_key, _ca_cert(_name(ROOT_NAME), None, root_key, 1))
        inter_key = _new_key(algorithm)
        intermediate = KeyPair(inter_key, _ca_cert(_name(INTERMEDIATE_NAME), root, inter_key, 0))
        client_key = ec.generate_private_key(ec.SECP256R1())
        client_ca = KeyPair(client_key, _ca_cert(_name(CLIENT_CA_NAME), None, client_key, 0))
        return cls(root, intermediate, client_ca)

    def to_dict(self) -> dict[str, dict[str, str]]:
        return {
            "root": self.root.to_dict(),
            "intermediate": self.intermediate.to_dict(),
            "client_ca": self.client_ca.to_dict(),
            "ev_intermediate": self.ev_intermediate.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, dict[str, str]]) -> CertificateAuthority:
        return cls(
            KeyPair.from_dict(data["root"]),
            KeyPair.from_dict(data["intermediate"]),
            KeyPair.from_dict(data["client_ca"]),
            KeyPair.from_dict(data["ev_intermediate"]) if "ev_intermediate" in data else None,
        )

    def issue_leaf(
        self,
        public_key,
        subject: x509.Name,
        dns_names: list[str],
        days: int,
        validation: str,
    ) -> x509.Certificate:
        is_rsa = isinstance(public_key, rsa.RSAPublicKey)
        issuer = self.issuer_for(validation)
        builder = (
            _builder(subject, issuer.cert.subject, public_key, days)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
                critical=False,
            )
            .add_extension(
                # keyEncipherment only means something for RSA (key transport).
                x509.KeyUsage(True, False, is_rsa, False, False, False, False, False, False),
                critical=True,
            )
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(
                x509.SubjectAlternativeName([x509.DNSName(name) for name in dns_names]),
                critical=False,
            )
            .add_extension(
                x509.CertificatePolicies(
                    [x509.PolicyInformation(x509.ObjectIdentifier(POLICY_OIDS[validation]), None)]
                ),
                critical=False,
            )
        )
        return builder.sign(issuer.key, hashes.SHA256())

    def issue_client_certificate(self, login: str) -> KeyPair:
        """An admin's TLS client certificate for the /private/api listener."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, login)])
        cert = (
            _builder(subject, self.client_ca.cert.subject, key.public_key(), 365)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(self.client_ca.key, hashes.SHA256())
        )
        return KeyPair(key, cert)

    def issue_server_certificate(self, hosts: list[str]) -> KeyPair:
        """The mTLS listener's own certificate, chained to the root."""
        key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        cert = (
            _builder(_name(hosts[0]), self.intermediate.cert.subject, key.public_key(), 365)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .sign(self.intermediate.key, hashes.SHA256())
        )
        return KeyPair(key, cert)
