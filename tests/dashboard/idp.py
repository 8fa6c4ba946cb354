"""A small OAuth2 authorization server over real HTTP (authorization code + PKCE, JWKS), standing
in for a company IdP: /authorize approves at once and redirects back with a code."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import ECKey


class PkceIdp:
    def __init__(self, client_id: str, audience: str, claims: dict[str, Any]) -> None:
        self.client_id = client_id
        self.audience = audience
        self.claims = claims  # added to every token: tenant, scope, sub...
        self.key = ECKey.generate_key("P-256", private=True)
        self.codes: dict[str, dict[str, str]] = {}
        self.refused: list[str] = []
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path)
                if path.path == "/jwks":
                    key = {**idp.key.as_dict(private=False), "kid": "idp-1", "use": "sig"}
                    return self._json(200, {"keys": [key]})
                if path.path == "/authorize":
                    return self._authorize({k: v[0] for k, v in parse_qs(path.query).items()})
                return self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if urlsplit(self.path).path != "/token":
                    return self._json(404, {"error": "not_found"})
                return self._token(form)

            def _authorize(self, query: dict[str, str]) -> None:
                if (
                    query.get("client_id") != idp.client_id
                    or query.get("code_challenge_method") != "S256"
                ):
                    idp.refused.append("authorize")
                    return self._json(400, {"error": "invalid_request"})
                code = secrets.token_urlsafe(16)
                idp.codes[code] = {
                    "challenge": query["code_challenge"],
                    "redirect_uri": query["redirect_uri"],
                }
                target = (
                    f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
                )
                self.send_response(302)
                self.send_header("Location", target)
                self.end_headers()

            def _token(self, form: dict[str, str]) -> None:
                grant = idp.codes.pop(form.get("code", ""), None)
                verifier = form.get("code_verifier", "")
                digest = hashlib.sha256(verifier.encode()).digest()
                challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
                if (
                    grant is None
                    or form.get("client_id") != idp.client_id
                    or form.get("redirect_uri") != grant["redirect_uri"]
                    or challenge != grant["challenge"]
                ):
                    idp.refused.append("token")
                    return self._json(400, {"error": "invalid_grant"})
                now = int(time.time())
                claims = {"iss": idp.issuer, "aud": idp.audience, "iat": now, "exp": now + 600}
                token = jwt.encode(
                    {"alg": "ES256", "kid": "idp-1", "typ": "JWT"},
                    {**claims, **idp.claims},
                    idp.key,
                )
                scope = idp.claims.get("scope", "")
                self._json(
                    200,
                    {
                        "access_token": token,
                        "token_type": "Bearer",
                        "expires_in": 600,
                        "scope": scope,
                    },
                )

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                # The dashboard calls the token endpoint from the browser (a public client).
                self.send_header("Access-Control-Allow-Origin", "*")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        host, port = self._httpd.server_address[:2]
        self.issuer = f"http://{host}:{port}"

    def __enter__(self) -> PkceIdp:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
