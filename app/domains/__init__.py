"""Domains and their validation (DCV) at the Sectigo Certificate Manager."""
