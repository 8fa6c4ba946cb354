"""Signed webhooks: tenants subscribe URLs to broker events, delivered through the outbox."""
