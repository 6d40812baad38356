"""The REST API under ``/api/v1``: everything the pages do, as JSON, for sessions and API tokens."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field

from ttpmap.server import accounts, jobs, training, views
from ttpmap.server import review as review_mod
from ttpmap.server.accounts import User
from ttpmap.server.security import admin, analyst, viewer
from ttpmap.server.uploads import DOWNLOADS, accept_uploads, download
from ttpmap.store import query as q

router = APIRouter(prefix="/api/v1", tags=["api"])

Viewer = Annotated[User, Depends(viewer)]
Analyst = Annotated[User, Depends(analyst)]
Admin = Annotated[User, Depends(admin)]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


class ReviewIn(BaseModel):
    """One review decision on a technique (accept / reject / change / add) or an IOC (keep / drop)."""

    action: Literal["accept", "reject", "change", "add", "keep", "drop"]
    technique_id: str = Field("", max_length=16)
    new_technique_id: str = Field("", max_length=16)
    ioc_value: str = Field("", max_length=2048)
    start: int | None = Field(None, ge=0, le=2**31 - 1)
    end: int | None = Field(None, ge=0, le=2**31 - 1)


class TokenIn(BaseModel):
    name: str = Field("api", min_length=1, max_length=64)


class UserIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=8, max_length=1024)
    role: Literal["viewer", "analyst", "admin"] = "viewer"


class RetrainIn(BaseModel):
    force: bool = False


def _state(request: Request) -> Any:
    return request.app.state.workbench


@router.get("/me")
def me(user: Viewer) -> dict[str, Any]:
    """The signed-in user."""
    return {"username": user.username, "role": user.role}


@router.get("/reports")
def reports(
    request: Request,
    user: Viewer,
    technique: Annotated[str, Query(max_length=32)] = "",
    group: Annotated[str, Query(max_length=32)] = "",
    software: Annotated[str, Query(max_length=32)] = "",
    ioc: Annotated[str, Query(max_length=2048)] = "",
    cve: Annotated[str, Query(max_length=32)] = "",
    since: Annotated[str, Query(max_length=40)] = "",
    reviewed: Annotated[Literal["", "reviewed", "unreviewed"], Query()] = "",
    text: Annotated[str, Query(max_length=200)] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> dict[str, Any]:
    """Reports newest first, filtered by technique, group, software, IOC, CVE, date, review status, text."""
    lq = views.list_query(technique, group, software, ioc, cve, since, reviewed, text, limit, offset)
    total, rows = views.list_reports(_state(request).store, lq)
    return {"total": total, "reports": rows}


def _report_json(request: Request, report_id: Id) -> dict[str, Any]:
    state = _state(request)
    doc, row, analysis, rows = views.reviewed_analysis(state.store, state.kb, report_id)
    return {
        "id": doc.id,
        "title": doc.title,
        "source": doc.source,
        "sha256": doc.sha256,
        "added_at": doc.added_at.isoformat(),
        "model_version": row.model_version,
        "analysed_at": row.created_at.isoformat(),
        "text": doc.text,
        "analysis": analysis.model_dump(mode="json", by_alias=True),
        "reviews": [review_mod.as_json(r) for r in rows],
    }


@router.get("/reports/{report_id}")
def report(request: Request, user: Viewer, report_id: Id) -> dict[str, Any]:
    """One report: its text, the analysis with reviews applied (techniques, IOCs defanged, attribution...)."""
    return _report_json(request, report_id)


@router.get("/reports/{report_id}/related")
def related(request: Request, user: Viewer, report_id: Id) -> list[dict[str, Any]]:
    """Reports sharing IOCs, software, CVEs or rare techniques with this one."""
    return [
        {"id": r.document_id, "title": r.title, "score": r.score, "shared": r.shared}
        for r in q.related(_state(request).store, report_id)
    ]


@router.get("/reports/{report_id}/download/{kind}")
def report_download(request: Request, user: Viewer, report_id: Id, kind: str) -> Response:
    """The reviewed analysis as advisory (HTML/PDF), brief, Navigator layer, STIX, MISP, CSV or JSON."""
    if kind not in DOWNLOADS:
        raise HTTPException(404, f"unknown download {kind!r}; choose from {', '.join(DOWNLOADS)}")
    return download(_state(request), report_id, kind)


@router.post("/reports/{report_id}/reviews", status_code=201)
def add_review(request: Request, user: Analyst, report_id: Id, body: ReviewIn) -> dict[str, Any]:
    """Accept, reject or change a technique, add one for a text span, or keep / drop an IOC."""
    state = _state(request)
    decision = review_mod.ReviewInput(**body.model_dump())
    return review_mod.record(state.store, state.kb, report_id, decision, (user.id, user.username))


@router.post("/reports/{report_id}/reanalyze", status_code=202)
def reanalyze(request: Request, user: Analyst, report_id: Id) -> dict[str, Any]:
    """Queue a re-analysis of the report with the active model."""
    store = _state(request).store
    review_mod.latest_analysis(store, report_id)
    return jobs.enqueue(store, "reanalyze", document_id=report_id, user_id=user.id).public()


@router.post("/uploads", status_code=202)
async def uploads(request: Request, user: Analyst, files: list[UploadFile]) -> dict[str, Any]:
    """Upload one or more reports (any format ingest reads); each becomes a queued analysis job."""
    queued = await accept_uploads(_state(request), files, user)
    return {"jobs": [j.public() for j in queued]}


@router.get("/jobs")
def job_list(
    request: Request,
    user: Viewer,
    ids: Annotated[str, Query(max_length=2000, pattern=r"^[0-9,]*$")] = "",
    status: Annotated[Literal["", "queued", "running", "done", "failed"], Query()] = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Jobs newest first (optionally some ids, or one state), and how many are in each state."""
    wanted = [int(i) for i in ids.split(",") if i.isdigit() and len(i) < 10]
    store = _state(request).store
    return {
        "jobs": [
            j.public() for j in jobs.recent(store, limit=limit, ids=wanted or None, status=status or None)
        ],
        "counts": jobs.counts(store),
    }


@router.get("/jobs/{job_id}")
def job(request: Request, user: Viewer, job_id: Id) -> dict[str, Any]:
    """One job."""
    found = jobs.get(_state(request).store, job_id)
    if found is None:
        raise HTTPException(404, f"no job {job_id}")
    return found.public()


@router.post("/jobs/{job_id}/retry")
def retry_job(request: Request, user: Analyst, job_id: Id) -> dict[str, Any]:
    """Queue a failed job again."""
    again = jobs.retry(_state(request).store, job_id)
    if again is None:
        raise HTTPException(409, f"job {job_id} is not a failed job that can be retried")
    return again.public()


@router.get("/techniques")
def techniques(
    request: Request, user: Viewer, q: Annotated[str, Query(max_length=100)] = ""
) -> list[dict[str, str]]:
    """ATT&CK techniques matching an ID prefix or part of a name (the technique picker)."""
    return views.technique_picker(_state(request).kb, q)


@router.get("/corpus/layer")
def corpus_layer(
    request: Request,
    user: Viewer,
    technique: Annotated[str, Query(max_length=32)] = "",
    group: Annotated[str, Query(max_length=32)] = "",
    software: Annotated[str, Query(max_length=32)] = "",
    cve: Annotated[str, Query(max_length=32)] = "",
    since: Annotated[str, Query(max_length=40)] = "",
) -> dict[str, Any]:
    """A Navigator layer of technique frequencies over the selected reports."""
    from ttpmap.publish.corpus_layer import corpus_layer as build

    lq = views.list_query(technique, group, software, "", cve, since)
    state = _state(request)
    total, counts = q.technique_counts(state.store, lq.filters)
    return build(total, counts, state.kb, name="ttpmap corpus")


@router.get("/models")
def models(request: Request, user: Viewer) -> list[dict[str, Any]]:
    """Technique model versions, newest first, with their evaluation and which is active."""
    return training.versions(_state(request).store)


@router.post("/models/retrain", status_code=202)
def retrain(request: Request, user: Admin, body: RetrainIn | None = None) -> dict[str, Any]:
    """Queue a retraining on ATT&CK plus the reviewed reports (activated only if not worse unless forced)."""
    force = bool(body and body.force)
    return jobs.enqueue(
        _state(request).store,
        "retrain",
        params={"by": user.username, "force": force},
        user_id=user.id,
        max_attempts=1,
    ).public()


@router.post("/models/{version_id}/activate")
def activate(request: Request, user: Admin, version_id: Id) -> list[dict[str, Any]]:
    """Make a model version active (an admin override of the evaluation)."""
    store = _state(request).store
    training.activate(store, version_id)
    return training.versions(store)


@router.post("/models/reanalyze-all", status_code=202)
def reanalyze_all(request: Request, user: Analyst) -> dict[str, Any]:
    """Queue a re-analysis of every report with the active model (one action)."""
    from sqlalchemy import select

    from ttpmap.store.schema import DocumentRow

    store = _state(request).store
    with store.session() as s:
        ids = list(s.scalars(select(DocumentRow.id).order_by(DocumentRow.id)))
    return {"jobs": [jobs.enqueue(store, "reanalyze", document_id=i, user_id=user.id).id for i in ids]}


@router.get("/tokens")
def tokens(request: Request, user: Viewer) -> list[dict[str, Any]]:
    """Your API tokens (their secrets are never shown again)."""
    return accounts.list_tokens(_state(request).store, user)


@router.post("/tokens", status_code=201)
def new_token(request: Request, user: Viewer, body: TokenIn) -> dict[str, Any]:
    """Create an API token; the secret is in this response only."""
    token_id, secret = accounts.create_token(_state(request).store, user, body.name)
    return {"id": token_id, "name": body.name, "token": secret}


@router.delete("/tokens/{token_id}", status_code=204)
def delete_token(request: Request, user: Viewer, token_id: Id) -> Response:
    """Revoke one of your API tokens."""
    if not accounts.revoke_token(_state(request).store, user, token_id):
        raise HTTPException(404, f"no token {token_id} of yours")
    return Response(status_code=204)


@router.get("/users")
def users(request: Request, user: Admin) -> list[dict[str, Any]]:
    """Every account."""
    return [
        {"id": u.id, "username": u.username, "role": u.role}
        for u in accounts.list_users(_state(request).store)
    ]


@router.post("/users", status_code=201)
def new_user(request: Request, user: Admin, body: UserIn) -> dict[str, Any]:
    """Create an account with a role."""
    made = accounts.create_user(_state(request).store, body.username, body.password, body.role)
    return {"id": made.id, "username": made.username, "role": made.role}
