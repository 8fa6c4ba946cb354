"""Certificate lifecycle: renewal before expiry (own window or the CA's ARI) and expiry alerts."""
