"""A Sectigo Certificate Manager (SCM) REST simulator, faithful enough for an unchanged client.

Build it with `app.sandbox.scm.app.create_scm_app(ScmSandboxConfig())`; run it with
`app.sandbox.scm.server.serve(host, port, config)` or `python -m app.sandbox.scm --port N`.
Contract: /work/shared/reference/scm-api.md. Choices where the contract leaves room:

Authentication (defaults in config.py)
  * `/api/...`: headers `login`/`password`/`customerUri` = sandbox/sandbox/sandbox, names
    matched case-insensitively; anything else is 401 {"code":-16,"description":"Unknown user"}.
  * OAuth: POST /auth/realms/apiclients/protocol/openid-connect/token (form,
    grant_type=client_credentials, client sandbox/sandbox, or HTTP Basic) answers
    {"access_token","expires_in","token_type":"Bearer",...}; the token (an HS256 JWT, lifetime
    `token_lifetime_seconds`, default 300) is accepted as Bearer on the same /api paths. A bad or
    expired one is 401 -16 with `WWW-Authenticate: Bearer ... authorization_uri="<token url>"`.
  * `/private/api/...`: `login` + `customerUri`, no password, and a TLS client certificate.
    uvicorn does not hand the peer certificate to the app, so a second listener (`--mtls-port`)
    runs with ssl.CERT_REQUIRED against a client CA the simulator generates; requests arriving
    there are marked verified in the ASGI scope (tls.py). /private/api on the plain listener is
    401. `POST /__sandbox/client-certificates` issues more client certificates.

Orders
  * Requested -> Applied -> Issued after `requested_to_applied_seconds` (0.05) and
    `applied_to_issued_seconds` (0.2); None means stuck. EV profiles wait in Requested for
    POST /ssl/v1/approve/{id}. Evaluated lazily on each read (lifecycle.py).
  * Collect before issuance: HTTP 400 with -183 while Requested/Approved (and Declined etc.),
    -1400 while Applied; both configurable, or {"code":0,"description":"Being processed by
    Sectigo"} with `legacy_collect_pending`. Revoked: -110; unknown format: -126.
  * DCV is enforced by default: every enrolled name must lie under a registered domain whose DCV
    is VALIDATED (-1137 otherwise, -107 if it expired). example.com and example.org (and their
    wildcards) are pre-validated; example.net and example.io are registered but not validated.
    Turn off with `dcv_enforced=False` or per organization with `dcv_exempt_org_ids`.
  * GET /ssl/v1 filters `comments`, `externalRequester`, `commonName`, `requester` and
    `subjectAlternativeName` match a case-insensitive substring, so a client finds its orders by
    a unique marker in `comments` or `externalRequester`; `status`, `orgId`, `sslTypeId` and
    `serialNumber` match exactly. Default page size 10, at most 200.

Sandbox controls (no auth, never faulted), under /__sandbox: health, ca, ca/root.pem,
faults (GET/PUT/PATCH/DELETE), settings (GET/PATCH), counters, reset, orders/{id}/state,
domains/{name}/dcv, acme/eab, acme/eab/pebble, acme/accounts/{id}/status, client-certificates.
faults.py has latency, 5xx/429 rates, dropped connections, `drop_after_enroll_count` and
deterministic "next N calls to path P" rules. Counters: enrollments per SHA-256 of the CSR's
SubjectPublicKeyInfo, and calls per "METHOD /raw/path".
"""
