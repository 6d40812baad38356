"""The ``ttpmap`` command: parse arguments, call the pipeline, render. No analysis logic lives here.

Each command lives in its own module; importing them registers them on :data:`app`.
"""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from ttpmap.cli import analyze, attribute, batch, corpus, kb, train  # noqa: F401  (registers the commands)
from ttpmap.cli import serve as _serve  # noqa: F401  (registers serve and worker)
from ttpmap.cli.app import _stem, app, err
from ttpmap.config import debug
from ttpmap.errors import TtpmapError

__all__ = ["_stem", "app", "main"]


def main() -> None:
    """Console entry point: one-line errors and DESIGN.md's exit codes, never a traceback."""
    try:
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except TtpmapError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # usage errors from the argument parser, and the unexpected
        show = getattr(exc, "show", None)
        code = getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):
            show()
            sys.exit(code)
        if debug():
            raise
        detail = escape(str(exc))[:300]
        err.print(f"[red]internal error:[/red] {type(exc).__name__}: {detail} (TTPMAP_DEBUG=1 for details)")
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
