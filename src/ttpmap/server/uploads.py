"""Uploads in (size-limited, one-line errors, queued as jobs) and downloads out (publish of the review)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from fastapi import HTTPException, UploadFile
from fastapi.responses import Response

from ttpmap.errors import ExportError
from ttpmap.server import jobs
from ttpmap.server.accounts import User

MAX_FILES = 20
CHUNK = 1 << 16

# download kind -> (publish format, produced file suffix, media type)
DOWNLOADS: dict[str, tuple[str, str, str]] = {
    "advisory.html": ("advisory", "-advisory.html", "text/html; charset=utf-8"),
    "advisory.pdf": ("advisory", "-advisory.pdf", "application/pdf"),
    "brief.html": ("brief", "-brief.html", "text/html; charset=utf-8"),
    "brief.pdf": ("brief", "-brief.pdf", "application/pdf"),
    "layer.json": ("navigator", "-layer.json", "application/json"),
    "stix.json": ("stix", "-stix.json", "application/json"),
    "misp.json": ("misp", "-misp.json", "application/json"),
    "techniques.csv": ("csv", "-techniques.csv", "text/csv; charset=utf-8"),
    "iocs.csv": ("csv", "-iocs.csv", "text/csv; charset=utf-8"),
    "analysis.json": ("json", ".json", "application/json"),
}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]")


def safe_filename(name: str) -> str:
    """A display/ingest name without paths or control characters."""
    base = (name or "upload").replace("\\", "/").rsplit("/", 1)[-1]
    return _SAFE_NAME.sub("_", base)[:120] or "upload"


async def accept_uploads(state: Any, files: list[UploadFile], user: User) -> list[jobs.Job]:
    """Read each file up to the size limit and queue it; any refusal is one line (413 / 400)."""
    limit = state.limits.max_bytes
    if not files:
        raise HTTPException(400, "choose at least one file to upload")
    if len(files) > MAX_FILES:
        raise HTTPException(413, f"at most {MAX_FILES} files per upload")
    contents: list[tuple[str, bytes]] = []
    for f in files:
        name = safe_filename(f.filename or "")
        data = bytearray()
        while chunk := await f.read(CHUNK):
            data += chunk
            if len(data) > limit:
                raise HTTPException(413, f"{name}: larger than the {limit // (1024 * 1024)} MB limit")
        if not data:
            raise HTTPException(400, f"{name}: the file is empty")
        contents.append((name, bytes(data)))
    return [jobs.enqueue(state.store, "analyze", filename=n, payload=d, user_id=user.id) for n, d in contents]


def download(state: Any, report_id: int, kind: str) -> Response:
    """Render one download of the reviewed analysis with ttpmap.publish."""
    from ttpmap.publish import export
    from ttpmap.server.views import reviewed_analysis

    fmt, suffix, media = DOWNLOADS[kind]
    _doc, _row, analysis, _reviews = reviewed_analysis(state.store, state.kb, report_id)
    stem = f"report-{report_id}"
    wanted = "advisory" if kind.startswith("advisory") else "brief" if kind.startswith("brief") else fmt
    with tempfile.TemporaryDirectory() as tmp:
        try:
            if kind.endswith(".html"):  # the HTML alone, without waiting for the PDF
                from ttpmap.publish import advisory, brief

                module = advisory if wanted == "advisory" else brief
                written, _html = module.write(analysis, state.kb, Path(tmp), stem)
            else:
                written = export(analysis, state.kb, [wanted], Path(tmp), stem=stem)
        except ExportError as exc:
            written = list(getattr(exc, "written", []))
            if not any(p.name == stem + suffix for p in written):
                raise HTTPException(503, str(exc)) from exc
        for path in written:
            if path.name == stem + suffix:
                return Response(
                    path.read_bytes(),
                    media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{stem}{suffix}"'},
                )
    raise HTTPException(500, f"{kind} was not produced")
