"""Access: every API route refuses anonymous callers, roles are enforced, CSRF guards session writes."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from workbench_helpers import PASSWORD, seed

from ttpmap.store.workbench import TokenRow, UserRow

WRITES = {
    # route (method, path) -> the lowest role allowed
    ("POST", "/api/v1/reports/{report_id}/reviews"): "analyst",
    ("POST", "/api/v1/reports/{report_id}/reanalyze"): "analyst",
    ("POST", "/api/v1/uploads"): "analyst",
    ("POST", "/api/v1/jobs/{job_id}/retry"): "analyst",
    ("POST", "/api/v1/models/retrain"): "admin",
    ("POST", "/api/v1/models/{version_id}/activate"): "admin",
    ("POST", "/api/v1/models/reanalyze-all"): "analyst",
    ("POST", "/api/v1/tokens"): "viewer",
    ("DELETE", "/api/v1/tokens/{token_id}"): "viewer",
    ("GET", "/api/v1/users"): "admin",
    ("POST", "/api/v1/users"): "admin",
}
ROLES = ("viewer", "analyst", "admin")


def api_routes(app) -> list[tuple[str, str]]:
    """Every (method, path) of the API, from its OpenAPI spec."""
    paths = app.openapi()["paths"]
    return sorted((m.upper(), p) for p, ops in paths.items() if p.startswith("/api/v1") for m in ops)


def concrete(path: str) -> str:
    return re.sub(r"\{[a-z_]+\}", "1", path)


def test_every_api_route_refuses_anonymous_callers_with_401(workbench):
    routes = api_routes(workbench.app)
    assert len(routes) >= 20
    client = workbench.client()
    for method, path in routes:
        r = client.request(method, concrete(path).replace("{kind}", "layer.json"))
        assert r.status_code == 401, (method, path, r.status_code)
        assert set(r.json()) == {"detail"}


def test_a_bad_token_is_anonymous(workbench):
    client = workbench.client()
    for token in ("nonsense", "ttp_" + "x" * 43, workbench.tokens["admin"] + "x"):
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_every_write_route_is_listed_with_its_role(workbench):
    writes = {(m, p) for m, p in api_routes(workbench.app) if m != "GET"}
    assert writes <= set(WRITES), writes - set(WRITES)


@pytest.mark.parametrize(("method", "path"), sorted(WRITES))
def test_roles_below_the_required_one_get_403(sqlite_workbench, method, path):
    needed = WRITES[(method, path)]
    for role in ROLES[: ROLES.index(needed)]:
        r = sqlite_workbench.client(role).request(method, concrete(path), json={})
        assert r.status_code == 403, (role, method, path, r.status_code, r.text)
        assert "role" in r.json()["detail"]


def test_viewer_cannot_review_analyst_can(sqlite_workbench, analysis_apt, apt_text):
    rid = seed(sqlite_workbench.store, analysis_apt, apt_text)
    body = {"action": "reject", "technique_id": "T1190"}
    viewer = sqlite_workbench.client("viewer")
    assert viewer.post(f"/api/v1/reports/{rid}/reviews", json=body).status_code == 403
    r = sqlite_workbench.client("analyst").post(f"/api/v1/reports/{rid}/reviews", json=body)
    assert r.status_code == 201 and r.json()["label"] == "none"


def test_analyst_cannot_retrain_admin_can(sqlite_workbench):
    assert sqlite_workbench.client("analyst").post("/api/v1/models/retrain", json={}).status_code == 403
    r = sqlite_workbench.client("admin").post("/api/v1/models/retrain", json={})
    assert r.status_code == 202 and r.json()["kind"] == "retrain" and r.json()["status"] == "queued"


def test_pages_send_anonymous_users_to_the_login_page(sqlite_workbench):
    client = sqlite_workbench.client()
    for path in ("/", "/upload", "/jobs", "/reports/1", "/corpus", "/models", "/account"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login", path


def test_upload_page_is_for_analysts(sqlite_workbench):
    viewer, _ = sqlite_workbench.browser("viewer")
    assert viewer.get("/upload").status_code == 403
    analyst, _ = sqlite_workbench.browser("analyst")
    assert analyst.get("/upload").status_code == 200


def test_session_cookie_is_httponly_and_samesite(sqlite_workbench):
    client = sqlite_workbench.client()
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = client.post(
        "/login", data={"username": "viewer", "password": PASSWORD, "csrf": token}, follow_redirects=False
    )
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("ttpmap_session=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie


def test_login_needs_the_form_token_and_the_right_password(sqlite_workbench):
    client = sqlite_workbench.client()
    r = client.post("/login", data={"username": "viewer", "password": PASSWORD, "csrf": "forged"})
    assert "ttpmap_session" not in client.cookies and "expired" in r.text
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"username": "viewer", "password": "wrong password", "csrf": token})
    assert "ttpmap_session" not in client.cookies and "Wrong user name or password" in r.text


def test_session_writes_need_the_csrf_token(sqlite_workbench, analysis_apt, apt_text):
    rid = seed(sqlite_workbench.store, analysis_apt, apt_text)
    client, csrf = sqlite_workbench.browser("analyst")
    body = {"action": "accept", "technique_id": "T1190"}
    r = client.post(f"/api/v1/reports/{rid}/reviews", json=body)
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    r = client.post(f"/api/v1/reports/{rid}/reviews", json=body, headers={"X-CSRF-Token": "wrong"})
    assert r.status_code == 403
    r = client.post(f"/api/v1/reports/{rid}/reviews", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201
    # forms carry it as a field: the upload form without it is refused, and so is sign-out
    r = client.post("/upload", files=[("files", ("a.txt", b"hello world", "text/plain"))])
    assert r.status_code == 403
    r = client.post("/logout", follow_redirects=False)
    assert r.status_code == 403
    r = client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303


def test_passwords_and_tokens_are_stored_hashed(sqlite_workbench):
    with sqlite_workbench.store.session() as s:
        hashes = list(s.scalars(select(UserRow.password_hash)))
        stored = list(s.scalars(select(TokenRow.token_hash)))
    assert hashes and all(h.startswith("$argon2id$") and PASSWORD not in h for h in hashes)
    assert all(t not in stored for t in sqlite_workbench.tokens.values())
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in stored)


def test_tokens_can_be_listed_and_revoked_by_their_owner_only(sqlite_workbench):
    viewer = sqlite_workbench.client("viewer")
    made = viewer.post("/api/v1/tokens", json={"name": "laptop"}).json()
    assert made["token"].startswith("ttp_")
    assert [t["name"] for t in viewer.get("/api/v1/tokens").json()] == ["tests", "laptop"]
    assert sqlite_workbench.client("admin").delete(f"/api/v1/tokens/{made['id']}").status_code == 404
    assert viewer.delete(f"/api/v1/tokens/{made['id']}").status_code == 204
    assert viewer.get("/api/v1/me", headers={"Authorization": f"Bearer {made['token']}"}).status_code == 401


def test_admin_creates_users_with_roles(sqlite_workbench):
    admin = sqlite_workbench.client("admin")
    r = admin.post("/api/v1/users", json={"username": "ann", "password": "longenough", "role": "analyst"})
    assert r.status_code == 201 and r.json()["role"] == "analyst"
    again = admin.post("/api/v1/users", json={"username": "ann", "password": "longenough", "role": "viewer"})
    assert again.status_code == 400 and "already exists" in again.json()["detail"]
    short = admin.post("/api/v1/users", json={"username": "bob", "password": "short", "role": "viewer"})
    assert short.status_code == 422 and "\n" not in short.json()["detail"]


def test_pages_send_a_strict_content_security_policy(sqlite_workbench):
    client, _ = sqlite_workbench.browser("viewer")
    for path in ("/", "/jobs", "/models", "/corpus", "/login", "/docs"):
        csp = client.get(path).headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
    page = client.get("/").text
    assert "<script>" not in page and " on" + "click=" not in page
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/static/app.js" defer>']


def test_docs_page_lists_the_api_without_third_party_scripts(sqlite_workbench):
    page = sqlite_workbench.client().get("/docs").text
    assert "/api/v1/reports/{report_id}/reviews" in page and "cdn" not in page.lower()
    spec = sqlite_workbench.client().get("/openapi.json").json()
    assert "/api/v1/uploads" in spec["paths"]
