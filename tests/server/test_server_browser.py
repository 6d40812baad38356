"""End to end in a real browser (Playwright driving Debian's Chromium) against a live server and worker.

Skips with the reason when Chromium or Playwright is missing. Uses the real technique model, and
retrains it once, so it is slow.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        f"browser tests need Chromium at {CHROMIUM} (apt-get install -y chromium)", allow_module_level=True
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need playwright (pip install playwright)"
)
uvicorn = pytest.importorskip("uvicorn", reason="browser tests need uvicorn (the serve extra)")

from workbench_helpers import EXAMPLES, PASSWORD, make_workbench, seed  # noqa: E402

pytestmark = pytest.mark.slow
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live(tmp_path_factory, kb):
    """A workbench served by Uvicorn on a free local port, with a `ttpmap worker` process."""
    from ttpmap.pipeline import default_model

    default_model(kb)  # trained once into the session cache, so the worker only loads it
    wb = make_workbench(f"sqlite:///{tmp_path_factory.mktemp('live') / 'store.sqlite'}")
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(wb.app, host="127.0.0.1", port=port, log_level="warning"))
    serving = threading.Thread(target=server.run, daemon=True)
    serving.start()
    url = wb.store.url.render_as_string(hide_password=False)
    worker = subprocess.Popen([sys.executable, "-m", "ttpmap.cli", "worker", "--store", url])
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.started
    yield wb, f"http://127.0.0.1:{port}"
    worker.terminate()
    try:
        worker.wait(30)
    except subprocess.TimeoutExpired:
        worker.kill()
    server.should_exit = True
    serving.join(10)
    wb.store.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    dialogs: list[str] = []
    problems: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.dialogs, page.problems = dialogs, problems  # type: ignore[attr-defined]
    yield page
    context.close()


def sign_in(page, base: str, user: str) -> None:
    page.goto(f"{base}/login")
    page.fill('input[name="username"]', user)
    page.fill('input[name="password"]', PASSWORD)
    page.click('form[action="/login"] button[type="submit"]')
    page.wait_for_url(f"{base}/")


def select_text(page, start: int, length: int) -> str:
    """Select ``length`` characters of the first long plain text piece of the report, as a user would."""
    return page.evaluate(
        """([start, length]) => {
            const seg = [...document.querySelectorAll('#doctext .seg:not(.ioc)')]
                .find((s) => s.textContent.length > start + length + 5);
            const range = document.createRange();
            range.setStart(seg.firstChild, start);
            range.setEnd(seg.firstChild, start + length);
            const sel = window.getSelection();
            sel.removeAllRanges();
            sel.addRange(range);
            return sel.toString();
        }""",
        [start, length],
    )


def test_upload_review_download_and_retrain(live, page, tmp_path):
    _wb, base = live
    sign_in(page, base, "admin")

    # upload the bundled example PDF and watch its job finish without reloading
    page.goto(f"{base}/upload")
    page.set_input_files("#files", str(EXAMPLES / "apt-exchange-intrusion.pdf"))
    page.click('form.upload button[type="submit"]')
    page.wait_for_url("**/jobs?ids=*")
    page.wait_for_selector('[data-field="status"]:text-is("done")', timeout=300_000)
    page.click("text=Open report")
    page.wait_for_selector("#techniques tbody tr[data-technique]")
    report_url = page.url

    # selecting a technique highlights its evidence in the text
    tids = page.eval_on_selector_all(
        "#techniques tr[data-technique]", "rows => rows.map(r => r.dataset.technique)"
    )
    assert len(tids) >= 3
    with_evidence = page.eval_on_selector_all(
        "#doctext .seg[data-t]", "segs => [...new Set(segs.flatMap(s => s.dataset.t.split(' ')))]"
    )
    shown = next(t for t in tids if t in with_evidence)
    page.click(f'[data-show="{shown}"]')
    assert page.eval_on_selector_all("#doctext .seg.hl", "segs => segs.length") >= 1

    # reject one technique
    rejected = tids[0]
    page.click(f'tr[data-technique="{rejected}"] [data-review="reject"]')
    page.wait_for_load_state("load")
    page.wait_for_selector(f'tr[data-technique="{rejected}"]', state="detached")

    # add one by selecting text and picking it by ID
    chosen = select_text(page, 2, 60)
    assert len(chosen) == 60
    page.wait_for_selector("#selection:has-text('Selected')")
    page.fill("#picker-input", "T1566.001")
    page.click("#picker-ok")
    page.wait_for_selector('tr[data-technique="T1566.001"]')
    added = page.eval_on_selector_all(
        '#doctext .seg[data-t~="T1566.001"]', "segs => segs.map(s => s.textContent).join('')"
    )
    assert added.strip() and added in chosen + added  # the highlighted span is the selected text

    # the downloaded Navigator layer reflects the review
    with page.expect_download() as info:
        page.click('a[data-download="layer.json"]')
    path = tmp_path / "layer.json"
    info.value.save_as(path)
    layer = json.loads(path.read_text(encoding="utf-8"))
    ids = {t["techniqueID"] for t in layer["techniques"] if "score" in t}
    assert "T1566.001" in ids and rejected not in ids

    # retrain as admin and see a new model version, activated or not with its figures
    page.goto(f"{base}/models")
    assert page.locator("#models tbody tr").count() == 1
    page.click("#retrain")
    page.wait_for_selector("#models tbody tr:nth-child(2)", timeout=900_000)
    names = page.eval_on_selector_all("#models tr[data-model]", "rows => rows.map(r => r.dataset.model)")
    assert any(n.startswith("reviewed-") for n in names) and "default" in names
    assert page.locator("text=reviewed sentences").count() >= 1
    assert not page.dialogs and not page.problems, (page.dialogs, page.problems)  # type: ignore[attr-defined]
    assert report_url.startswith(f"{base}/reports/")


def test_hostile_report_text_stays_inert_in_the_browser(live, page, analysis_apt):
    wb, base = live
    hostile = (
        "Intro <script>alert('script tag')</script> then <img src=x onerror=\"alert('img')\"> and "
        "<a href=\"javascript:alert('link')\">click me</a> and javascript:alert('bare') and "
        "<svg onload=alert('svg')></svg> and \"><script>alert('break out')</script> end."
    )
    document = analysis_apt.document.model_copy(
        update={"sha256": "d" * 64, "title": "<img src=x onerror=alert('title')>"}
    )
    techniques = [
        t.model_copy(update={"evidence": [t.evidence[0].model_copy(update={"start": 0, "end": 60})]})
        for t in analysis_apt.techniques[:2]
    ]
    evil = analysis_apt.model_copy(update={"document": document, "techniques": techniques})
    rid = seed(wb.store, evil, hostile)
    sign_in(page, base, "viewer")
    page.goto(f"{base}/reports/{rid}")
    page.click(f'[data-show="{evil.techniques[0].id}"]')
    page.click("#doctext")
    page.goto(f"{base}/?text=script")
    page.wait_for_selector("#reports")
    time.sleep(0.5)
    assert page.dialogs == []  # type: ignore[attr-defined]
    assert page.locator("#doctext a, #reports a[href^='javascript']").count() == 0
