"""Jinja2 environments: HTML with autoescape on, Markdown that escapes every expression by default."""

from __future__ import annotations

from functools import cache
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
