"""Serves the dashboard's page, its sign-in options and its packaged assets under /dashboard.

Everything is shipped with the package (no CDN), and every answer carries a strict
Content-Security-Policy: scripts only from this origin, no inline script or style.
"""

from __future__ import annotations

from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from app.settings import Settings

PREFIX = "/dashboard"


def _static_dir() -> str:
    return str(resources.files("app.dashboard") / "static")


def content_security_policy(settings: Settings) -> str:
    # The browser may also talk to the token endpoints of IdPs offered for sign-in.
    idp_origins = sorted(
        {
            "{0.scheme}://{0.netloc}".format(urlsplit(idp.token_endpoint))
            for idp in settings.auth.external_idps
            if idp.offers_dashboard_sign_in and idp.token_endpoint
        }
    )
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            "connect-src " + " ".join(["'self'", *idp_origins]),
            "font-src 'self'",
            "base-uri 'none'",
            "form-action 'self' " + " ".join(_authorization_origins(settings)),
            "frame-ancestors 'none'",
        ]
    ).strip()


def _authorization_origins(settings: Settings) -> list[str]:
    return sorted(
        {
            "{0.scheme}://{0.netloc}".format(urlsplit(idp.authorization_endpoint))
            for idp in settings.auth.external_idps
            if idp.offers_dashboard_sign_in and idp.authorization_endpoint
        }
    )


def _secure(response: Response, csp: str) -> Response:
    response.headers["Content-Security-Policy"] = csp
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-cache"
    return response


class _DashboardFiles(StaticFiles):
    """Scripts and styles; the policy that matters is the page's, these only repeat it."""

    def __init__(self, csp: str) -> None:
        super().__init__(directory=_static_dir())
        self._csp = csp

    async def get_response(self, path: str, scope: Scope) -> Response:
        return _secure(await super().get_response(path, scope), self._csp)


def sign_in_options(settings: Settings) -> dict[str, Any]:
    return {
        "token_endpoint": "/oauth/token",
        "idps": [
            {
                "issuer": idp.issuer,
                "name": idp.display_name or urlsplit(idp.issuer).netloc or idp.issuer,
                "authorization_endpoint": idp.authorization_endpoint,
                "token_endpoint": idp.token_endpoint,
                "client_id": idp.dashboard_client_id,
                "scope": idp.dashboard_scope,
            }
            for idp in settings.auth.external_idps
            if idp.offers_dashboard_sign_in
        ],
    }


def install_dashboard(app: FastAPI, settings: Settings) -> None:
    index = resources.files("app.dashboard") / "static" / "index.html"

    # Read from the app's settings at each call (a handful of IdPs at most), so the page and
    # its policy always match the IdPs the token validation trusts.
    def current(request: Request) -> Settings:
        return request.app.state.settings

    @app.get(PREFIX, include_in_schema=False)
    async def dashboard_root() -> Response:
        return RedirectResponse(f"{PREFIX}/", status_code=307)

    @app.get(f"{PREFIX}/", include_in_schema=False)
    async def dashboard_page(request: Request) -> Response:
        page = FileResponse(str(index), media_type="text/html")
        return _secure(page, content_security_policy(current(request)))

    @app.get(f"{PREFIX}/config.json", include_in_schema=False)
    async def dashboard_config(request: Request) -> Response:
        settings = current(request)
        return _secure(JSONResponse(sign_in_options(settings)), content_security_policy(settings))

    app.mount(f"{PREFIX}/static", _DashboardFiles(content_security_policy(settings)))
