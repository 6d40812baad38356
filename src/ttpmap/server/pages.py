"""Server-rendered pages (Jinja2, autoescaped). Actions post forms with a CSRF field or call the API."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, Depends, Form, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ttpmap import __version__
from ttpmap.server import accounts, jobs, training, views
from ttpmap.server.accounts import User
from ttpmap.server.security import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    SESSION_SECONDS,
    admin,
    analyst,
    optional_user,
    viewer,
)
from ttpmap.server.uploads import DOWNLOADS, accept_uploads
from ttpmap.store import query as q

router = APIRouter(include_in_schema=False)
Viewer = Annotated[User, Depends(viewer)]
Analyst = Annotated[User, Depends(analyst)]
Admin = Annotated[User, Depends(admin)]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


@cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("ttpmap.server", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page with the user, their CSRF token and the version in its context."""
    user = getattr(request.state, "user", None)
    html = (
        _env()
        .get_template(template)
        .render(
            user=user,
            csrf=getattr(request.state, "csrf", "") or "",
            version=__version__,
            path=request.url.path,
            **context,
        )
    )
    return HTMLResponse(html, status_code=status)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """One line of what went wrong, in the page layout."""
    return render(request, "error.html", status=status, status_code=status, message=message)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


@router.get("/login")
def login_page(request: Request, error: str = "") -> Response:
    if optional_user(request) is not None:
        return RedirectResponse("/", status_code=303)
    token = request.app.state.sessions.login_token()
    response = render(request, "login.html", login_token=token, error=error[:200])
    response.set_cookie(
        LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request), max_age=3600
    )
    return response


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    state = request.app.state
    if not state.sessions.login_ok(request.cookies.get(LOGIN_COOKIE), csrf):
        return RedirectResponse("/login?error=The+form+expired%3B+try+again.", status_code=303)
    user = accounts.authenticate(state.store, username, password)
    if user is None:
        return RedirectResponse("/login?error=Wrong+user+name+or+password.", status_code=303)
    cookie, _csrf = state.sessions.issue(user)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        max_age=SESSION_SECONDS,
    )
    response.delete_cookie(LOGIN_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, user: Viewer) -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/")
def reports_page(
    request: Request,
    user: Viewer,
    technique: Annotated[str, Query(max_length=32)] = "",
    group: Annotated[str, Query(max_length=32)] = "",
    software: Annotated[str, Query(max_length=32)] = "",
    ioc: Annotated[str, Query(max_length=2048)] = "",
    cve: Annotated[str, Query(max_length=32)] = "",
    since: Annotated[str, Query(max_length=40)] = "",
    reviewed: Annotated[str, Query(max_length=16)] = "",
    text: Annotated[str, Query(max_length=200)] = "",
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> Response:
    form = {
        "technique": technique,
        "group": group,
        "software": software,
        "ioc": ioc,
        "cve": cve,
        "since": since,
        "reviewed": reviewed,
        "text": text,
    }
    lq = views.list_query(technique, group, software, ioc, cve, since, reviewed, text, offset=offset)
    total, rows = views.list_reports(request.app.state.store, lq)
    size = views.PAGE_SIZE
    return render(
        request,
        "reports.html",
        rows=rows,
        total=total,
        form=form,
        newer=urlencode({**form, "offset": max(offset - size, 0)}) if offset > 0 else "",
        older=urlencode({**form, "offset": offset + size}) if offset + size < total else "",
        counts=jobs.counts(request.app.state.store),
    )


@router.get("/upload")
def upload_page(request: Request, user: Analyst) -> Response:
    limit = request.app.state.workbench.limits.max_bytes
    return render(request, "upload.html", max_mb=limit // (1024 * 1024))


@router.post("/upload")
async def upload(request: Request, user: Analyst, files: list[UploadFile]) -> Response:
    queued = await accept_uploads(request.app.state.workbench, files, user)
    return RedirectResponse("/jobs?ids=" + ",".join(str(j.id) for j in queued), status_code=303)


@router.get("/jobs")
def jobs_page(
    request: Request, user: Viewer, ids: Annotated[str, Query(max_length=2000, pattern=r"^[0-9,]*$")] = ""
) -> Response:
    wanted = [int(i) for i in ids.split(",") if i.isdigit() and len(i) < 10]
    store = request.app.state.store
    return render(
        request, "jobs.html", jobs=jobs.recent(store, ids=wanted or None), ids=ids, counts=jobs.counts(store)
    )


@router.get("/reports/{report_id}")
def report_page(request: Request, user: Viewer, report_id: Id) -> Response:
    state = request.app.state.workbench
    doc, row, analysis, rows = views.reviewed_analysis(state.store, state.kb, report_id)
    from ttpmap.server.review import decisions

    by_technique, added, ioc_decisions = decisions(rows)
    extra = [(r.start, r.end, r.technique_id) for r in added if r.start is not None and r.end is not None]
    original = {t["id"]: t for t in row.result.get("techniques", [])}
    technique_rows = []
    for t in analysis.techniques:
        decision = by_technique.get(t.id)
        technique_rows.append(
            {
                "t": t,
                "state": decision.action if decision else ("added" if t.origin == "analyst" else ""),
                "was": original.get(t.id),
            }
        )
    rejected = [
        original[tid]
        for tid, r in by_technique.items()
        if r.action in ("reject", "change") and tid in original
    ]
    all_iocs = row.result.get("iocs", [])
    return render(
        request,
        "report.html",
        doc=doc,
        row=row,
        analysis=analysis,
        segments=views.segments(doc.text, analysis, extra),
        technique_rows=technique_rows,
        rejected=rejected,
        iocs=all_iocs,
        ioc_decisions=ioc_decisions,
        matrix=views.matrix(state.kb, {t.id: t.score for t in analysis.techniques}),
        downloads=list(DOWNLOADS),
        reviews=rows,
    )


@router.get("/corpus")
def corpus_page(
    request: Request,
    user: Viewer,
    technique: Annotated[str, Query(max_length=32)] = "",
    group: Annotated[str, Query(max_length=32)] = "",
    software: Annotated[str, Query(max_length=32)] = "",
    cve: Annotated[str, Query(max_length=32)] = "",
    since: Annotated[str, Query(max_length=40)] = "",
    related: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    state = request.app.state.workbench
    form = {"technique": technique, "group": group, "software": software, "cve": cve, "since": since}
    neighbours = q.related(state.store, related, limit=20) if related else []
    lq = views.list_query(technique, group, software, "", cve, since)
    total, counts = q.technique_counts(state.store, lq.filters)
    summary = q.summary(state.store, lq.filters)
    return render(
        request,
        "corpus.html",
        form=form,
        total=total,
        matrix=views.matrix(state.kb, {k: float(v) for k, v in counts.items()}),
        summary=summary,
        related=related,
        neighbours=neighbours,
    )


@router.get("/models")
def models_page(request: Request, user: Viewer) -> Response:
    store = request.app.state.store
    return render(
        request,
        "models.html",
        versions=training.versions(store),
        sentences=len(training.labelled_sentences(store)),
        retrain_jobs=[j for j in jobs.recent(store, limit=20) if j.kind == "retrain"],
    )


@router.get("/account")
def account_page(request: Request, user: Viewer) -> Response:
    store = request.app.state.store
    return render(
        request,
        "account.html",
        tokens=accounts.list_tokens(store, user),
        users=accounts.list_users(store) if user.can("admin") else [],
    )


@router.get("/docs")
def docs_page(request: Request) -> Response:
    """The API reference, rendered from the OpenAPI spec (no third-party scripts)."""
    spec = request.app.openapi()
    operations = [
        {
            "method": method.upper(),
            "path": path,
            "summary": op.get("summary", ""),
            "doc": op.get("description", ""),
            "params": [p.get("name", "") for p in op.get("parameters", [])],
        }
        for path, methods in spec.get("paths", {}).items()
        for method, op in methods.items()
    ]
    return render(request, "docs.html", operations=operations, title=spec.get("info", {}).get("title", ""))
