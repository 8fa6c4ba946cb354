"""OAuth2 authorization server for machine clients, and validation of access tokens."""
