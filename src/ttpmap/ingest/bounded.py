"""Run one input's extraction in a child process with a deadline and a memory cap.

A parser stuck on a hostile page or element cannot be interrupted from inside, so the work runs in
a forked child that the parent kills when ``TTPMAP_MAX_SECONDS`` pass. The child also gets an
address-space cap of ``TTPMAP_MAX_MEMORY_MB`` above what it inherited. Results come back as JSON,
never as pickles. Where ``fork`` is unavailable, or inside a daemonic process such as a Dask
worker, the work runs in-process with the readers' own checks.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from typing import Any

from ttpmap.config import Limits
from ttpmap.errors import InputError, InputTooLarge, UnsupportedInput

Work = Callable[[], dict[str, Any]]
_ERRORS: dict[str, type[InputError]] = {
    "InputError": InputError,
    "InputTooLarge": InputTooLarge,
    "UnsupportedInput": UnsupportedInput,
}


def run_bounded(work: Work, limits: Limits, source: str | None = None) -> dict[str, Any]:
    """Return ``work()`` (a JSON-able dict) or raise the InputError it raised, within the time budget."""
    if "fork" not in multiprocessing.get_all_start_methods() or multiprocessing.current_process().daemon:
        # a daemonic process (e.g. a Dask worker) may not have children: the readers' own checks apply
        return _in_process(work, limits)
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(work, sender, limits), daemon=True)
    child.start()
    sender.close()
    try:
        if not receiver.poll(max(limits.max_seconds, 0.0)):
            raise _timeout(limits, source)
        try:
            payload = json.loads(receiver.recv_bytes())
        except EOFError:
            child.join(5)
            raise _died(child.exitcode, limits, source) from None
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join()
    return _unpack(payload, source)


def _in_process(work: Work, limits: Limits) -> dict[str, Any]:
    try:
        return work()
    except MemoryError:
        raise InputTooLarge(_MEMORY_MESSAGE.format(mb=limits.max_memory_mb)) from None
    except RecursionError:
        raise InputError("too deeply nested to read") from None


_MEMORY_MESSAGE = "needed more than {mb:,} MB of memory to read (TTPMAP_MAX_MEMORY_MB)"


def _child(work: Work, sender: Any, limits: Limits) -> None:
    # Ctrl-C is the parent's to handle: it kills this process on the way out.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _cap_memory(limits.max_memory_mb)
    try:
        result: dict[str, Any] = {"ok": work()}
    except InputError as exc:
        result = {"error": type(exc).__name__, "message": exc.args[0] if exc.args else str(exc)}
    except MemoryError:
        result = {"error": "InputTooLarge", "message": _MEMORY_MESSAGE.format(mb=limits.max_memory_mb)}
    except RecursionError:
        result = {"error": "InputError", "message": "too deeply nested to read"}
    except Exception as exc:  # an unexpected reader failure is still this input's failure
        detail = " ".join(str(exc).split())[:200]
        result = {"error": "InputError", "message": f"could not be read ({type(exc).__name__}: {detail})"}
    try:
        sender.send_bytes(json.dumps(result).encode())
    except MemoryError:
        os._exit(3)


def _cap_memory(megabytes: int) -> None:
    """Limit the child's address space to what it has now plus ``megabytes``."""
    try:
        import resource

        with open("/proc/self/statm") as statm:
            current = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        cap = current + megabytes * 2**20
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ImportError, OSError, ValueError):
        pass  # no /proc or no rlimits: the deadline still applies


def _unpack(payload: dict[str, Any], source: str | None) -> dict[str, Any]:
    if "ok" in payload:
        result: dict[str, Any] = payload["ok"]
        return result
    error = _ERRORS.get(payload.get("error", ""), InputError)
    raise error(str(payload.get("message", "could not be read")), source=source)


def _timeout(limits: Limits, source: str | None) -> InputTooLarge:
    return InputTooLarge(
        f"reading took over {limits.max_seconds:g} s and was stopped (TTPMAP_MAX_SECONDS)", source=source
    )


def _died(code: int | None, limits: Limits, source: str | None) -> InputError:
    if code in (-9, 3):  # killed by the kernel (out of memory) or by our own memory guard
        return InputTooLarge(_MEMORY_MESSAGE.format(mb=limits.max_memory_mb), source=source)
    return InputError(f"the reader stopped unexpectedly (exit code {code})", source=source)


def deadline(limits: Limits) -> Callable[[], bool]:
    """A cheap "is time up?" check for readers that can stop between pages or elements."""
    end = time.monotonic() + limits.max_seconds
    return lambda: time.monotonic() > end
