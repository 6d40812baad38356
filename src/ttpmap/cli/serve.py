"""`ttpmap serve` (the workbench web app with its workers) and `ttpmap worker` (a job worker alone)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from typing import Annotated, Any

import typer
from rich.markup import escape

from ttpmap.cli.app import AttackOpt, Domain, DomainOpt, app, err
from ttpmap.cli.batch import StoreOpt, open_cli_store
from ttpmap.errors import UsageError

ADMIN_USER_ENV = "TTPMAP_ADMIN_USER"
ADMIN_PASSWORD_ENV = "TTPMAP_ADMIN_PASSWORD"


def _need_serve_extra() -> None:
    try:
        import argon2  # noqa: F401
        import fastapi  # noqa: F401
        import itsdangerous  # noqa: F401
        import multipart  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise UsageError(
            f"the workbench needs the serve extra: pip install 'ttpmap[serve]' ({exc.name} missing)"
        ) from exc


def _first_admin(store: Any, prompt: bool) -> None:
    from ttpmap.server.accounts import create_user, has_users

    if prompt:
        username = typer.prompt("Admin user name", default="admin")
        password = typer.prompt("Password (8+ characters)", hide_input=True, confirmation_prompt=True)
        create_user(store, username, password, "admin")
        err.print(f"Created admin {escape(username)}")
    elif not has_users(store):
        password = os.environ.get(ADMIN_PASSWORD_ENV)
        if password:
            username = os.environ.get(ADMIN_USER_ENV) or "admin"
            create_user(store, username, password, "admin")
            err.print(f"Created admin {escape(username)} from {ADMIN_PASSWORD_ENV}")
        else:
            err.print(
                "No accounts yet: run `ttpmap serve --create-admin` or set "
                f"{ADMIN_PASSWORD_ENV} to create the first admin"
            )


@app.command()
def serve(
    store_url: StoreOpt = None,
    host: Annotated[str, typer.Option(help="Address to bind (127.0.0.1 keeps it local).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int,
        typer.Option("--workers", help="Job worker processes to start (0: run `ttpmap worker` yourself)."),
    ] = 1,
    lease: Annotated[float, typer.Option(help="Seconds before a silent worker's job is taken back.")] = 60.0,
    create_admin: Annotated[
        bool, typer.Option("--create-admin", help="Prompt for a first admin account, then serve.")
    ] = False,
    attack: AttackOpt = None,
    domain: DomainOpt = Domain.enterprise,
) -> None:
    """Run the analyst workbench: upload, review, correct, retrain and publish in a browser."""
    _need_serve_extra()
    import uvicorn

    from ttpmap.server import create_app

    if not 0 < port < 65536:
        raise UsageError("--port must be between 1 and 65535")
    if workers < 0 or workers > 32:
        raise UsageError("--workers must be between 0 and 32")
    if not 1 <= lease <= 3600:
        raise UsageError("--lease must be between 1 and 3600 seconds")
    store = open_cli_store(store_url)
    _first_admin(store, create_admin)
    url = store.url.render_as_string(hide_password=False)
    procs = [_spawn_worker(url, attack, domain, lease) for _ in range(workers)]
    stop = threading.Event()
    keeper = threading.Thread(target=_respawn, args=(procs, stop, url, attack, domain, lease), daemon=True)
    keeper.start()
    err.print(f"ttpmap workbench on http://{escape(host)}:{port}/ with {workers} worker(s); Ctrl-C stops")
    try:
        uvicorn.run(
            create_app(store, attack=attack, domain=domain), host=host, port=port, log_level="warning"
        )
    finally:
        stop.set()
        keeper.join()
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        store.close()


def _respawn(
    procs: list[subprocess.Popen[bytes]],
    stop: threading.Event,
    url: str,
    attack: str | None,
    domain: str,
    lease: float,
) -> None:
    """Start a new worker in place of one that died (its job comes back when the lease runs out)."""
    while not stop.wait(2.0):
        for i, proc in enumerate(procs):
            if proc.poll() is not None and not stop.is_set():
                err.print(f"worker {proc.pid} exited ({proc.returncode}); starting another")
                procs[i] = _spawn_worker(url, attack, domain, lease)


def _spawn_worker(url: str, attack: str | None, domain: str, lease: float) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "ttpmap.cli", "worker", "--domain", domain, "--lease", str(lease)]
    if attack:
        args += ["--attack", attack]
    env = {**os.environ, "TTPMAP_STORE": url}  # not on the command line, where ps would show a password
    return subprocess.Popen(args, env=env)


@app.command()
def worker(
    store_url: StoreOpt = None,
    once: Annotated[bool, typer.Option("--once", help="Exit when the queue is empty.")] = False,
    lease: Annotated[float, typer.Option(help="Seconds a claimed job is held between renewals.")] = 60.0,
    attack: AttackOpt = None,
    domain: DomainOpt = Domain.enterprise,
) -> None:
    """Run workbench jobs (analyses, re-analyses, retraining) from the store until stopped."""
    from ttpmap.server.worker import Worker

    store = open_cli_store(store_url)
    if not 1 <= lease <= 3600:
        raise UsageError("--lease must be between 1 and 3600 seconds")
    runner = Worker(store, attack=attack, domain=domain, lease=lease)
    signal.signal(signal.SIGTERM, lambda *_: runner.stop())
    try:
        runner.run(once=once)
    except KeyboardInterrupt:
        runner.stop()
    finally:
        store.close()


def train_from_store(store_url: str | None, attack: str | None, domain: str, force: bool) -> None:
    """`ttpmap train --from-store`: retrain on reviewed reports and print before/after figures."""
    from ttpmap.cli.app import _load_kb, out
    from ttpmap.server.training import retrain

    store = open_cli_store(store_url)
    try:
        kb = _load_kb(attack, domain)
        with err.status("Training on ATT&CK and the reviewed reports…", spinner="dots"):
            result = retrain(store, kb, by=os.environ.get("USER", ""), force=force)
    finally:
        store.close()
    out.print(
        f"Model {escape(result['name'])}: {result['trained_sentences']} reviewed sentences; held-back "
        f"accuracy {result['active_accuracy']} (active) -> {result['candidate_accuracy']} (candidate) on "
        f"{result['held_back_sentences']} sentences; {escape(result['note'])}"
    )
