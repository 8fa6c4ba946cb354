"""The dashboard: a static single-page app served by the API, using only the public /v1 API."""
