"""Jinja2 environments: HTML with autoescape on, Markdown that escapes every expression by default."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from ttpmap.publish.markup import md_escape


def _md_finalize(value: Any) -> Any:
    """Every ``{{ }}`` in a Markdown template is escaped unless the value is Markup (trusted)."""
    if value is None:
        return ""
    if isinstance(value, Markup):
        return str(value)
    return md_escape(str(value))


@cache
def html_env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("ttpmap.publish", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


@cache
def md_env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("ttpmap.publish", "templates"),
        autoescape=False,
        finalize=_md_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )


def render_html(template: str, context: dict[str, Any]) -> str:
    return html_env().get_template(template).render(**context)


def render_markdown(template: str, context: dict[str, Any]) -> str:
    text = md_env().get_template(template).render(**context)
    # templates use blank lines freely; keep at most one between blocks
    lines: list[str] = []
    for line in text.splitlines():
        if line.strip() or (lines and lines[-1].strip()):
            lines.append(line.rstrip())
    return "\n".join(lines).strip() + "\n"


_SAFE_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def render_document(
    name: str, context: dict[str, Any], fmt: str, *, svg: Callable[[], str], figure: str | None = None
) -> str:
    """A document as ``markdown`` (figure = a safe file name beside it) or ``html`` (figure inline)."""
    from ttpmap.publish.figures import data_uri

    if fmt == "markdown":
        context["figure"] = Markup(figure) if figure and _SAFE_FILE.fullmatch(figure) else None
        return render_markdown(f"{name}.md.j2", context)
    if fmt == "html":
        context["figure"] = data_uri(svg())
        return render_html(f"{name}.html.j2", context)
    raise ValueError(f"unknown {name} format {fmt!r}")


def write_document(
    out_dir: Path, stem: str, kind: str, figure_suffix: str, svg: str, render: Callable[..., str]
) -> tuple[list[Path], str]:
    """Write ``<stem>-<kind>.md``, its SVG figure and ``.html``; return the paths and the HTML for PDF."""
    from ttpmap.publish.files import write_atomic

    figure = write_atomic(out_dir / f"{stem}-{figure_suffix}.svg", svg)
    md = write_atomic(out_dir / f"{stem}-{kind}.md", render("markdown", figure=figure.name))
    html_text = render("html")
    html = write_atomic(out_dir / f"{stem}-{kind}.html", html_text)
    return [md, figure, html], html_text
