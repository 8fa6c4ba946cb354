"""The broker as an RFC 8555 ACME server: EAB credentials, accounts, orders, validation, ARI."""
