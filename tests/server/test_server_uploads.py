"""Uploads: several files at once become jobs; size, count and empty files are refused in one line."""

from __future__ import annotations

from workbench_helpers import EXAMPLES

from ttpmap.config import Limits
from ttpmap.server import jobs
from ttpmap.server.uploads import MAX_FILES


def test_several_files_become_one_job_each(sqlite_workbench):
    analyst = sqlite_workbench.client("analyst")
    files = [
        ("files", ("apt.pdf", (EXAMPLES / "apt-exchange-intrusion.pdf").read_bytes(), "application/pdf")),
        ("files", ("ransom.html", (EXAMPLES / "ransomware-healthcare.html").read_bytes(), "text/html")),
        ("files", ("../../etc/<b>name.md", b"# title\n\nsome text", "text/markdown")),
    ]
    r = analyst.post("/api/v1/uploads", files=files)
    assert r.status_code == 202
    queued = r.json()["jobs"]
    assert [j["filename"] for j in queued] == ["apt.pdf", "ransom.html", "_b_name.md"]
    assert {j["status"] for j in queued} == {"queued"}
    assert jobs.payload(sqlite_workbench.store, queued[0]["id"]) == files[0][1][1]


def test_the_upload_form_redirects_to_the_jobs_page(sqlite_workbench):
    client, csrf = sqlite_workbench.browser("analyst")
    r = client.post(
        "/upload",
        data={"csrf": csrf},
        files=[
            ("files", ("a.md", b"# a\n\ntext", "text/markdown")),
            ("files", ("b.md", b"# b\n\nmore", "text/markdown")),
        ],
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/jobs?ids=")
    page = client.get(r.headers["location"]).text
    assert "a.md" in page and "b.md" in page and 'data-poll="/api/v1/jobs?ids=' in page


def test_too_large_too_many_and_empty_files_are_refused(sqlite_workbench):
    sqlite_workbench.app.state.workbench.limits = Limits(max_bytes=1000)
    analyst = sqlite_workbench.client("analyst")
    big = analyst.post("/api/v1/uploads", files=[("files", ("big.txt", b"x" * 1001, "text/plain"))])
    assert big.status_code == 413 and big.json()["detail"].startswith("big.txt: larger than")
    many = [("files", (f"{i}.txt", b"text", "text/plain")) for i in range(MAX_FILES + 1)]
    r = analyst.post("/api/v1/uploads", files=many)
    assert r.status_code == 413 and "at most" in r.json()["detail"]
    empty = analyst.post("/api/v1/uploads", files=[("files", ("e.txt", b"", "text/plain"))])
    assert empty.status_code == 400 and "empty" in empty.json()["detail"]
    none = analyst.post("/api/v1/uploads", data={"x": "y"})
    assert none.status_code == 422 and "\n" not in none.json()["detail"]
    assert jobs.recent(sqlite_workbench.store) == []  # nothing half-queued


def test_refusals_on_pages_are_one_line_in_the_layout(sqlite_workbench):
    sqlite_workbench.app.state.workbench.limits = Limits(max_bytes=10)
    client, csrf = sqlite_workbench.browser("analyst")
    r = client.post("/upload", data={"csrf": csrf}, files=[("files", ("big.txt", b"x" * 11, "text/plain"))])
    assert r.status_code == 413
    assert 'id="error-line">big.txt: larger than' in r.text and "Traceback" not in r.text


def test_a_body_larger_than_any_allowed_upload_is_refused_before_it_is_read(sqlite_workbench):
    sqlite_workbench.app.state.workbench.limits = Limits(max_bytes=1000)
    analyst = sqlite_workbench.client("analyst")
    huge = b"x" * (MAX_FILES * 1000 + (1 << 20) + 1)
    r = analyst.post("/api/v1/uploads", files=[("files", ("huge.txt", huge, "text/plain"))])
    assert r.status_code == 413 and r.json() == {"detail": "upload too large"}
