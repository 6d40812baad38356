"""The Typer application, shared options and the loaders every command uses."""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from ttpmap import __version__
from ttpmap.errors import UsageError

app = typer.Typer(
    name="ttpmap",
    help="Turn threat reports into ATT&CK-mapped tradecraft, attribution, mitigations and advisories.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
kb_app = typer.Typer(help="Inspect and update the ATT&CK knowledge base.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")

# piped output is 140 columns wide unless COLUMNS says otherwise
_WIDTH = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 140
out = Console(highlight=False, soft_wrap=False, width=_WIDTH)
err = Console(stderr=True, highlight=False, soft_wrap=True)

AttackOpt = Annotated[
    str | None,
    typer.Option(
        "--attack", help="ATT&CK bundle path or URL (.json/.json.gz; default: TTPMAP_ATTACK or v15.0)."
    ),
]


class Domain(StrEnum):
    """ATT&CK domains (``ttpmap.config.DOMAINS``)."""

    enterprise = "enterprise"
    mobile = "mobile"
    ics = "ics"


class TableJson(StrEnum):
    """Output of the inspection commands: a table for people or JSON for machines."""

    table = "table"
    json = "json"


class Format(StrEnum):
    """Output of `analyze` on stdout."""

    table = "table"
    json = "json"
    markdown = "markdown"


DomainOpt = Annotated[Domain, typer.Option("--domain", help="ATT&CK domain.")]
ModelOpt = Annotated[str | None, typer.Option("--model", help="Name or path of a model from `ttpmap train`.")]
TableJsonOpt = Annotated[TableJson, typer.Option("--format", "-f", help="Output format.")]
EXPORTS = ("advisory", "brief", "navigator", "stix", "misp", "csv", "json")


def _version(value: bool) -> None:
    if value:
        out.print(f"ttpmap {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """ttpmap: threat report → ATT&CK techniques, IOCs, attribution, mitigations, advisories (offline)."""


def _load_kb(attack: str | None, domain: str) -> Any:
    from ttpmap.kb import load_kb

    with err.status("Loading ATT&CK knowledge base…", spinner="dots"):
        return load_kb(attack, str(domain))


def _load_model(kb: Any, model_name: str | None) -> Any:
    from ttpmap.learn.artifacts import select_model

    with err.status("Loading technique model (first run trains it from ATT&CK)…", spinner="dots") as status:
        return select_model(kb, model_name, progress=lambda msg: status.update(msg))


def _parse_formats(value: str, allowed: tuple[str, ...]) -> list[str]:
    items = [v.strip().lower() for v in value.split(",") if v.strip()]
    if "all" in items:
        return list(allowed)
    bad = [v for v in items if v not in allowed]
    if bad:
        raise UsageError(f"unknown export format {', '.join(bad)}; choose from all, {', '.join(allowed)}")
    return items


def _stem(source: str, used: set[str]) -> str:
    """A safe, unused output stem for an input (Unicode letters kept; collisions get -2, -3...)."""
    from ttpmap.publish.files import unique_stem

    return unique_stem("stdin" if source == "-" else Path(source).stem, used)
