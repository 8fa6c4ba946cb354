"""API clients: a tenant's machine identities that obtain access tokens with client credentials."""
