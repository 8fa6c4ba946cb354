"""Tenants: the organisations whose certificates, domains and API clients the broker keeps apart."""
