"""Chain ordering by issuer/subject links, whatever order the CA sends."""

import random

from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

from app.issuers.scm.chain import load_certificates, order_chain, to_pem

from .keys import make_cert, verify_chain


def hierarchy():
    root, root_key = make_cert("Test Root", None)
    inter1, k1 = make_cert("Test Intermediate 1", root_key, "Test Root")
    inter2, k2 = make_cert("Test Intermediate 2", k1, "Test Intermediate 1")
    leaf, _ = make_cert("www.example.com", k2, "Test Intermediate 2", ca=False)
    return root, root_key, inter1, inter2, leaf


def test_order_chain_ignores_received_order_and_drops_leaf_and_strangers():
    root, _, inter1, inter2, leaf = hierarchy()
    stranger, _ = make_cert("Unrelated CA", None)
    for _ in range(5):
        bundle = [root, inter1, inter2, leaf, stranger, inter1]
        random.shuffle(bundle)
        assert order_chain(leaf, bundle) == [inter2, inter1, root]
    verify_chain(leaf, [inter2, inter1], root)


def test_order_chain_rejects_same_name_with_wrong_key():
    root, root_key, inter1, inter2, leaf = hierarchy()
    impostor, _ = make_cert("Test Intermediate 2", root_key, "Test Root")
    assert order_chain(leaf, [impostor, root, inter1]) == []
    assert order_chain(leaf, [impostor, inter2, root, inter1]) == [inter2, inter1, root]


def test_load_certificates_reads_pem_crlf_and_pkcs7():
    root, _, inter1, inter2, leaf = hierarchy()
    pem = "".join(to_pem(c) for c in [root, inter1, leaf]).replace("\n", "\r\n")
    assert load_certificates(pem) == [root, inter1, leaf]
    p7_pem = pkcs7.serialize_certificates([leaf, inter2], Encoding.PEM)
    assert load_certificates(p7_pem) == [leaf, inter2]
    p7_der = pkcs7.serialize_certificates([leaf, inter2], Encoding.DER)
    assert load_certificates(p7_der) == [leaf, inter2]
