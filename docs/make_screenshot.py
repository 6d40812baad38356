"""Render the README's screenshot of the workbench's report view.

    python docs/make_screenshot.py    # needs the serve and test extras and Debian's Chromium

Analyses ``examples/apt-exchange-intrusion.pdf`` with the worker into a temporary store, records two
reviews (one rejection, one technique added for a text span), serves the app on a free local port and
writes ``docs/images/workbench-report.png`` with Playwright driving /usr/bin/chromium.
"""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "images" / "workbench-report.png"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def main() -> None:
    import uvicorn
    from playwright.sync_api import sync_playwright

    from ttpmap.server import create_app, jobs
    from ttpmap.server.accounts import create_user
    from ttpmap.server.review import ReviewInput, record
    from ttpmap.server.worker import Worker
    from ttpmap.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'store.sqlite'}")
        user = create_user(store, "analyst", "screenshot-password", "analyst")
        example = ROOT / "examples" / "apt-exchange-intrusion.pdf"
        job = jobs.enqueue(store, "analyze", filename=example.name, payload=example.read_bytes())
        worker = Worker(store)
        worker.run(once=True)
        report = jobs.get(store, job.id).document_id
        assert report is not None, jobs.get(store, job.id)
        app = create_app(store)
        kb = app.state.workbench.kb
        from ttpmap.server.views import reviewed_analysis

        doc, _row, analysis, _ = reviewed_analysis(store, kb, report)
        record(
            store,
            kb,
            report,
            ReviewInput("reject", technique_id=analysis.techniques[-1].id),
            (user.id, "analyst"),
        )
        start = doc.text.find("harvested credentials")
        if start >= 0:
            record(
                store,
                kb,
                report,
                ReviewInput("add", "T1566.001", start=start, end=start + 60),
                (user.id, "analyst"),
            )
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{base}/login")
            page.fill('input[name="username"]', "analyst")
            page.fill('input[name="password"]', "screenshot-password")
            page.click('button[type="submit"]')
            page.wait_for_url(f"{base}/")
            page.goto(f"{base}/reports/{report}")
            first = analysis.techniques[0].id
            page.click(f'[data-show="{first}"]')
            page.evaluate("window.scrollTo(0, 0)")
            OUT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(OUT))
            browser.close()
        server.should_exit = True
        thread.join(10)
        store.close()
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
