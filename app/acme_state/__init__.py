"""The broker's persistent ACME state: account keys (encrypted) and HTTP-01 tokens."""
