"""Private keys the broker generates for callers, and PKCS#12 bundles of them."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from app.catalog.products import KeyType

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def generate_key(key_type: KeyType) -> PrivateKey:
    if key_type is KeyType.EC_P256:
        return ec.generate_private_key(ec.SECP256R1())
    if key_type is KeyType.EC_P384:
        return ec.generate_private_key(ec.SECP384R1())
    bits = {KeyType.RSA_2048: 2048, KeyType.RSA_3072: 3072, KeyType.RSA_4096: 4096}[key_type]
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def private_key_pem(key: PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def load_private_key(pem: str) -> PrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ValueError("unsupported private key type")
    return key


def pkcs12_bundle(
    key_pem: str, leaf_pem: str, chain_pems: list[str], passphrase: str, friendly_name: str
) -> bytes:
    """A PKCS#12 file with the key, the certificate and its chain, encrypted with AES-256."""
    key = load_private_key(key_pem)
    leaf = x509.load_pem_x509_certificate(leaf_pem.encode())
    chain = [x509.load_pem_x509_certificate(p.encode()) for p in chain_pems]
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(50000)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .build(passphrase.encode())
    )
    return pkcs12.serialize_key_and_certificates(
        friendly_name.encode(), key, leaf, chain or None, encryption
    )
