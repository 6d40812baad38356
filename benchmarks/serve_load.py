"""Load on the workbench: 200 uploads from 10 concurrent clients against `ttpmap serve --workers 2`.

Starts a real server (Uvicorn) with two worker processes on a fresh SQLite store, uploads distinct
reports (the bundled Markdown examples with a unique case line each) from concurrent clients that
also load the report list and report view pages, SIGKILLs one worker once a third of the jobs are
done, and waits until every job is finished. Prints: jobs done / failed / lost / duplicated, p50 and
p95 latency of the list and view pages under load, reports per minute, peak RSS of the server and
workers, and how the killed worker's job was taken back. Another process's load on the machine shows
up directly in these figures.

    python benchmarks/serve_load.py [--uploads 200] [--clients 10] [--workers 2] [--lease 15]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from ttpmap.server.accounts import create_token, create_user
from ttpmap.store import open_store

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ("apt-exchange-intrusion.md", "phishing-campaign.md", "ransomware-healthcare.md")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    """Direct child processes (Linux /proc)."""
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids = (task / "children").read_text().split()
        out += [int(k) for k in kids]
    return out


def peak_rss_mb(pid: int) -> float:
    """VmHWM of a live process in MB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def busy_worker(url: str, pids: list[int]) -> tuple[int, int] | None:
    """(pid, job id) of a worker process holding a running job, read from the store."""
    from sqlalchemy import select

    from ttpmap.store.workbench import JobRow

    store = open_store(url)
    try:
        with store.session() as s:
            for job_id, worker in s.execute(
                select(JobRow.id, JobRow.worker).where(JobRow.status == "running")
            ):
                pid = int(worker.split(":")[1])
                if pid in pids:
                    return pid, job_id
    finally:
        store.close()
    return None


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=200)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--lease", type=float, default=15.0)
    parser.add_argument("--no-kill", action="store_true", help="Do not kill a worker mid-run.")
    parser.add_argument("--output", type=Path, help="Write the figures as JSON here.")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="ttpmap-serve-load-"))
    url = f"sqlite:///{tmp / 'store.sqlite'}"
    store = open_store(url)
    token = create_token(store, create_user(store, "bench", "benchmark-password", "analyst"), "bench")[1]
    store.close()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ttpmap.cli",
            "serve",
            "--store",
            url,
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            "--lease",
            str(args.lease),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    headers = {"Authorization": f"Bearer {token}"}
    client = httpx.Client(base_url=base, headers=headers, timeout=60)
    for _ in range(300):
        try:
            if client.get("/api/v1/me").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    else:
        server.kill()
        raise SystemExit("the server did not start")

    texts = [(ROOT / "examples" / name).read_text(encoding="utf-8") for name in EXAMPLES]
    list_ms: list[float] = []
    view_ms: list[float] = []
    job_ids: list[int] = []
    lock = threading.Lock()
    errors: list[str] = []

    VIEWS_AFTER_UPLOADS = 20

    def run_client(c: int) -> None:
        http = httpx.Client(base_url=base, headers=headers, timeout=120)
        for k in range(c, args.uploads, args.clients):
            body = texts[k % len(texts)] + f"\n\nLoad-test case reference LT-{k:05d}-{os.getpid()}.\n"
            r = http.post(
                "/api/v1/uploads", files=[("files", (f"case-{k:05d}.md", body.encode(), "text/markdown"))]
            )
            if r.status_code != 202:
                errors.append(f"upload {k}: {r.status_code} {r.text[:100]}")
                continue
            with lock:
                job_ids.extend(j["id"] for j in r.json()["jobs"])
            t = time.perf_counter()
            http.get("/")
            with lock:
                list_ms.append(1000 * (time.perf_counter() - t))
            view_one(http)
        # uploads return at once, so keep reading pages while the workers analyse the queue
        for _ in range(VIEWS_AFTER_UPLOADS):
            t = time.perf_counter()
            if http.get("/").status_code == 200:
                with lock:
                    list_ms.append(1000 * (time.perf_counter() - t))
            view_one(http)
            time.sleep(0.2)

    def view_one(http: httpx.Client) -> None:
        """Time the view page of the newest analysed report, if there is one yet."""
        reports = http.get("/api/v1/reports", params={"limit": 5}).json()["reports"]
        if reports:
            t = time.perf_counter()
            view = http.get(f"/reports/{reports[0]['id']}")
            if view.status_code == 200:
                with lock:
                    view_ms.append(1000 * (time.perf_counter() - t))

    start = time.perf_counter()
    threads = [threading.Thread(target=run_client, args=(c,)) for c in range(args.clients)]
    for t in threads:
        t.start()

    killed: dict[str, object] = {}
    while True:
        counts = client.get("/api/v1/jobs", params={"limit": 1}).json()["counts"]
        finished = counts.get("done", 0) + counts.get("failed", 0)
        if not killed and not args.no_kill and finished >= args.uploads // 3:
            victim = busy_worker(url, children(server.pid))
            if victim is not None:  # kill a worker while it holds a job, so the job must be taken back
                pid, job_id = victim
                os.kill(pid, signal.SIGKILL)
                killed = {"pid": pid, "holding_job": job_id, "after_done": finished}
        if all(not t.is_alive() for t in threads) and finished >= len(job_ids) and job_ids:
            break
        time.sleep(1.0)
    elapsed = time.perf_counter() - start
    for t in threads:
        t.join()

    jobs = client.get("/api/v1/jobs", params={"limit": 500}).json()["jobs"]
    reports = client.get("/api/v1/reports", params={"limit": 1}).json()["total"]
    rss = {"server": peak_rss_mb(server.pid), "workers": [peak_rss_mb(p) for p in children(server.pid)]}
    server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()

    store = open_store(url)
    from sqlalchemy import func, select

    from ttpmap.store.schema import AnalysisRow, DocumentRow

    with store.session() as s:
        analyses = s.scalar(select(func.count()).select_from(AnalysisRow)) or 0
        documents = s.scalar(select(func.count()).select_from(DocumentRow)) or 0
    store.close()
    retried = [j for j in jobs if j["attempts"] > 1]
    figures = {
        "uploads": args.uploads,
        "clients": args.clients,
        "workers": args.workers,
        "jobs": len(jobs),
        "done": sum(j["status"] == "done" for j in jobs),
        "failed": sum(j["status"] == "failed" for j in jobs),
        "lost": args.uploads - len(set(job_ids)),
        "documents": documents,
        "analyses": analyses,
        "duplicated": analyses - documents,
        "reports_listed": reports,
        "seconds": round(elapsed, 1),
        "reports_per_minute": round(60 * sum(j["status"] == "done" for j in jobs) / elapsed, 1),
        "list_page_ms": {
            "p50": round(statistics.median(list_ms), 1),
            "p95": round(pct(list_ms, 0.95), 1),
            "n": len(list_ms),
        },
        "view_page_ms": {
            "p50": round(statistics.median(view_ms), 1) if view_ms else None,
            "p95": round(pct(view_ms, 0.95), 1),
            "n": len(view_ms),
        },
        "peak_rss_mb": rss,
        "killed_worker": killed,
        "jobs_taken_back": [
            {"id": j["id"], "attempts": j["attempts"], "status": j["status"]} for j in retried
        ],
        "upload_errors": errors[:5],
        "load_average": os.getloadavg(),
    }
    print(json.dumps(figures, indent=2))
    if args.output:
        args.output.write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
