"""Figures as hand-built SVG (no plotting library): the ATT&CK matrix and the activity-by-stage chart.

SVG keeps the output deterministic and small, scales in PDF, and WeasyPrint renders it natively.
"""

from __future__ import annotations

import base64
from html import escape

from ttpmap.kb import KnowledgeBase
from ttpmap.models import Analysis
from ttpmap.publish.context import by_tactic
from ttpmap.publish.markup import one_line

FONT = "DejaVu Sans Condensed, Arial Narrow, Liberation Sans Narrow, Arial, sans-serif"
INK = "#1b1f24"
NAVY = "#12355b"
MUTED = "#8a94a6"
LOW, MID, HIGH = (255, 255, 255), (255, 102, 102), (179, 0, 0)


def score_color(score: float) -> str:
    """White -> light red -> dark red, the same gradient as the Navigator layer."""
    s = min(max(score, 0.0), 1.0)
    a, b, f = (LOW, MID, s / 0.5) if s < 0.5 else (MID, HIGH, (s - 0.5) / 0.5)
    return "#" + "".join(f"{round(x + (y - x) * f):02x}" for x, y in zip(a, b, strict=True))


def _text_color(score: float) -> str:
    return "#ffffff" if score >= 0.55 else INK


def wrap(text: str, width: float, size: float, max_lines: int, *, em: float = 0.52) -> list[str]:
    """Greedy word wrap by estimated glyph width (``em`` = average glyph width / font size).

    The last line ends with an ellipsis when the text is cut.
    """
    limit = max(int(width / (size * em)), 4)
    lines: list[str] = []
    current = ""
    for word in one_line(text).split(" "):
        while len(word) > limit:  # very long tokens (paths, hashes) are split hard
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:limit])
            word = word[limit:]
        candidate = f"{current} {word}".strip()
        if len(candidate) <= limit:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: max(limit - 1, 1)].rstrip() + "…"
    return lines


def _text(
    x: float,
    y: float,
    lines: list[str],
    size: float,
    color: str,
    weight: str = "normal",
    anchor: str = "start",
    gap: float = 1.2,
) -> str:
    spans = "".join(
        f'<tspan x="{x:.1f}" y="{y + i * size * gap:.1f}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return (
        f'<text font-family="{FONT}" font-size="{size}" fill="{color}" font-weight="{weight}" '
        f'text-anchor="{anchor}">{spans}</text>'
    )


def _rect(x: float, y: float, w: float, h: float, fill: str, **attrs: object) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{fill}"{extra}/>'


def _svg_open(width: float, height: float, label: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" aria-label="{escape(label)}">',
        _rect(0, 0, width, height, "#ffffff"),
    ]


def matrix_svg(analysis: Analysis, kb: KnowledgeBase | None, *, max_rows: int = 10) -> str:
    """ATT&CK matrix: one column per tactic in matrix order, observed techniques shaded by score."""
    groups = by_tactic(analysis, kb, keep_empty=True)
    cols = max(len(groups), 1)
    col_w, gap, pad = 100.0, 6.0, 12.0
    width = pad * 2 + cols * col_w + (cols - 1) * gap
    head_h, cell_h, cell_gap = 48.0, 76.0, 6.0
    rows = max([min(len(g.techniques), max_rows) for g in groups] + [1])
    more = any(len(g.techniques) > max_rows for g in groups)
    top = pad
    body_top = top + head_h + 18
    legend_y = body_top + rows * (cell_h + cell_gap) + (16 if more else 0) + 10
    height = legend_y + 34
    parts = _svg_open(width, height, "ATT&CK matrix of observed techniques")
    for i, group in enumerate(groups):
        x = pad + i * (col_w + gap)
        active = bool(group.techniques)
        parts.append(
            f'<rect x="{x:.1f}" y="{top:.1f}" width="{col_w:.1f}" height="{head_h:.1f}" rx="3" '
            f'fill="{NAVY if active else "#d9dee7"}"/>'
        )
        name_lines = wrap(group.tactic.name, col_w - 8, 11.5, 2, em=0.57)
        name_y = top + (20 if len(name_lines) == 2 else 28)
        parts.append(
            _text(
                x + col_w / 2, name_y, name_lines, 11.5, "#ffffff" if active else "#5b6577", "bold", "middle"
            )
        )
        count = len(group.techniques)
        parts.append(
            _text(
                x + col_w / 2,
                top + head_h + 13,
                [f"{count} technique{'s' if count != 1 else ''}"],
                10,
                INK if active else MUTED,
                anchor="middle",
            )
        )
        for j, technique in enumerate(group.techniques[:max_rows]):
            y = body_top + j * (cell_h + cell_gap)
            fill = score_color(technique.score)
            ink = _text_color(technique.score)
            parts.append(_rect(x, y, col_w, cell_h, fill, rx=2, stroke="#b8bfcc", stroke_width=0.8))
            known = kb.techniques.get(technique.id) if kb else None
            lines = wrap(known.name if known else technique.name, col_w - 8, 11, 4, em=0.6)
            parts.append(_text(x + 4, y + 14, lines, 11, ink, "bold"))
            parts.append(
                _text(x + 4, y + cell_h - 6, [f"{technique.id}  ·  {round(technique.score * 100)}"], 9.5, ink)
            )
        if count > max_rows:
            y = body_top + max_rows * (cell_h + cell_gap) + 8
            parts.append(_text(x + col_w / 2, y, [f"+{count - max_rows} more"], 8.5, INK, anchor="middle"))
    # legend: the score gradient
    lx = pad
    parts.append(_text(lx, legend_y + 12, ["Score"], 9, INK, "bold"))
    for k in range(20):
        parts.append(
            f'<rect x="{lx + 40 + k * 8:.1f}" y="{legend_y + 3:.1f}" width="8.5" height="12" '
            f'fill="{score_color(k / 19)}" stroke="none"/>'
        )
    parts.append(_rect(lx + 40, legend_y + 3, 160, 12, "none", stroke="#b8bfcc"))
    parts.append(_text(lx + 40, legend_y + 27, ["0"], 8.5, INK))
    parts.append(_text(lx + 200, legend_y + 27, ["100"], 8.5, INK, anchor="end"))
    observed = len(analysis.techniques)
    tactic_count = sum(1 for g in groups if g.techniques)
    parts.append(
        _text(
            width - pad,
            legend_y + 12,
            [f"{observed} techniques observed across {tactic_count} of {len(groups)} tactics"],
            9,
            INK,
            anchor="end",
        )
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def bar_chart_svg(items: list[tuple[str, int]], *, title: str, unit: str = "behaviours") -> str:
    """Horizontal bar chart of (label, count) rows, for readers who never saw ATT&CK."""
    label_w, bar_w, row_h, pad = 170.0, 300.0, 20.0, 10.0
    width = pad * 2 + label_w + bar_w + 40
    height = pad * 2 + 26 + len(items) * row_h + 8
    peak = max([c for _, c in items] + [1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" aria-label="{escape(title)}">',
        f'<rect x="0" y="0" width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
        _text(pad, pad + 12, [title], 13, INK, "bold"),
    ]
    for i, (name, count) in enumerate(items):
        y = pad + 26 + i * row_h
        parts.append(_text(pad + label_w - 8, y + 15, [name], 11, INK if count else MUTED, anchor="end"))
        parts.append(_rect(pad + label_w, y + 4, bar_w, row_h - 8, "#eef1f5"))
        if count:
            w = bar_w * count / peak
            parts.append(_rect(pad + label_w, y + 4, w, row_h - 8, NAVY))
        parts.append(_text(pad + label_w + bar_w + 8, y + 15, [str(count)], 11, INK if count else MUTED))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def data_uri(svg: str) -> str:
    """An SVG as a data: URI for <img>, so the HTML file is self-contained and no script can run."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
