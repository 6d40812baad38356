"""The FastAPI application: security headers, error mapping, the API and the pages, static files."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from ttpmap import __version__
from ttpmap.config import Limits
from ttpmap.errors import TtpmapError, UsageError
from ttpmap.server.security import Sessions, ensure_key
from ttpmap.server.uploads import MAX_FILES
from ttpmap.store import Store

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


@dataclass
class AppState:
    """What every request shares: the store, the session signer, limits and (lazily) the KB."""

    store: Store
    sessions: Sessions
    limits: Limits
    attack: str | None = None
    domain: str = "enterprise"

    @cached_property
    def kb(self) -> Any:
        from ttpmap.kb import load_kb

        return load_kb(self.attack, self.domain)


def _one_line(detail: object) -> str:
    if isinstance(detail, list):  # pydantic validation errors: the first, as one line
        first = detail[0] if detail else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return f"{where}: {first.get('msg', 'invalid value')}" if where else str(first.get("msg", "invalid"))
    return " ".join(str(detail).split())


def create_app(
    store: Store, *, attack: str | None = None, domain: str = "enterprise", limits: Limits | None = None
) -> FastAPI:
    """The workbench app over an open store."""
    from ttpmap.server import api, pages, training

    training.ensure_base(store)
    app = FastAPI(
        title="ttpmap workbench",
        version=__version__,
        docs_url=None,  # /docs is our own page (no CDN scripts); the spec is at /openapi.json
        redoc_url=None,
        description="Review ATT&CK mappings of threat reports, correct them, retrain, publish.",
    )
    state = AppState(store, Sessions(ensure_key(store)), limits or Limits.from_env(), attack, domain)
    for name in ("store", "sessions"):
        setattr(app.state, name, getattr(state, name))
    app.state.workbench = state

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        if request.method == "POST" and request.url.path in ("/upload", "/api/v1/uploads"):
            size = request.headers.get("content-length", "")
            if size.isdigit() and int(size) > MAX_FILES * state.limits.max_bytes + (1 << 20):
                # refused before the body is read or spooled to disk
                response: Response = JSONResponse({"detail": "upload too large"}, status_code=413)
                response.headers["Connection"] = "close"
                for key, value in HEADERS.items():
                    response.headers.setdefault(key, value)
                return response
        response = await call_next(request)
        for key, value in HEADERS.items():
            response.headers.setdefault(key, value)
        if request.url.path.startswith(("/api/", "/reports", "/jobs")):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    def wants_page(request: Request) -> bool:
        return not request.url.path.startswith(("/api/", "/openapi.json"))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 401 and wants_page(request):
            return RedirectResponse("/login", status_code=303)
        if wants_page(request):
            return pages.error_page(request, exc.status_code, _one_line(exc.detail))
        return JSONResponse(
            {"detail": _one_line(exc.detail)}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        message = _one_line(exc.errors())
        if wants_page(request):
            return pages.error_page(request, 422, message)
        return JSONResponse({"detail": message}, status_code=422)

    @app.exception_handler(TtpmapError)
    async def refused(request: Request, exc: TtpmapError) -> Response:
        status = 404 if isinstance(exc, UsageError) and str(exc).startswith("no report") else 400
        if wants_page(request):
            return pages.error_page(request, status, str(exc))
        return JSONResponse({"detail": _one_line(str(exc))}, status_code=status)

    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount(
        "/static", StaticFiles(directory=str(resources.files("ttpmap.server") / "static")), name="static"
    )
    return app
