"""Publishing an Analysis: advisory, leaders' brief, Navigator layer, STIX 2.1, MISP, CSV, JSON.

Importing this package is cheap: WeasyPrint and pymisp are imported only when a format needs them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from ttpmap.errors import ExportError, UsageError
from ttpmap.kb import KnowledgeBase
from ttpmap.models import Analysis
from ttpmap.publish.files import safe_stem, write_atomic

FORMATS = ("advisory", "brief", "navigator", "stix", "misp", "csv", "json")

__all__ = ["FORMATS", "ExportIncomplete", "export"]


class ExportIncomplete(ExportError):
    """Some outputs could not be written; ``written`` lists the files that were."""

    def __init__(self, message: str, *, written: list[Path], failed: list[Path]) -> None:
        super().__init__(message)
        self.written = written
        self.failed = failed


def resolve_formats(formats: Iterable[str]) -> list[str]:
    """Requested formats in canonical order; ``all`` expands; unknown names are a UsageError."""
    wanted: set[str] = set()
    for name in formats:
        key = name.strip().lower()
        if key == "all":
            wanted.update(FORMATS)
        elif key in FORMATS:
            wanted.add(key)
        else:
            raise UsageError(f"unknown export format {name!r}; choose from {', '.join(FORMATS)} or all")
    return [f for f in FORMATS if f in wanted]


def export(
    analysis: Analysis,
    kb: KnowledgeBase | None,
    formats: Iterable[str],
    out_dir: Path,
    *,
    stem: str | None = None,
    max_iocs: int | None = None,
    on_written: Callable[[Path], None] | None = None,
) -> list[Path]:
    """Write the requested formats to ``out_dir`` as ``<stem>-<kind>.<ext>`` and return the paths.

    Each file is written atomically (temporary file and rename; an existing file of that name, or a
    symlink planted there, is replaced, never written through) and reported to ``on_written`` as
    soon as it exists. At most ``max_iocs`` indicators are exported (default: TTPMAP_MAX_IOCS), with
    a note when some are left out. PDFs (advisory, brief) are rendered last. Formats that cannot be
    produced (PDF without Pango, MISP without pymisp) do not stop the others: one ExportIncomplete
    (an ExportError) is raised at the end, naming the missing files and carrying ``written``.
    """
    from ttpmap.config import Limits
    from ttpmap.publish.context import default_stem
    from ttpmap.publish.limits import cap_iocs

    wanted = resolve_formats(formats)
    stem = stem or default_stem(analysis)
    if stem != safe_stem(stem):
        raise UsageError(
            f"invalid output name {stem!r}: use letters, digits, '.', '_' or '-', not first '.' or '-'"
        )
    analysis = cap_iocs(analysis, Limits.from_env().max_iocs if max_iocs is None else max_iocs)
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot use {out_dir} as the output folder: {exc.strerror or exc}") from None
    report = on_written or (lambda path: None)

    written: list[Path] = []
    pdfs: list[tuple[str, Path]] = []
    problems: dict[str, list[Path]] = {}
    for fmt in wanted:
        try:
            paths, pdf_html = _WRITERS[fmt](analysis, kb, out_dir, stem)
        except ExportError as exc:
            problems.setdefault(str(exc), []).append(out_dir / f"{stem}-{fmt}")
            continue
        written.extend(paths)
        for path in paths:
            report(path)
        if pdf_html is not None:
            pdfs.append((pdf_html, out_dir / f"{stem}-{fmt}.pdf"))

    if pdfs:
        from ttpmap.publish.pdf import html_to_pdf

        for html, path in pdfs:
            try:
                written.append(html_to_pdf(html, path))
                report(path)
            except ExportError as exc:
                problems.setdefault(str(exc), []).append(path)

    if problems:
        failed = [p for paths in problems.values() for p in paths]
        message = "; ".join(
            f"{msg}: {', '.join(p.name for p in paths)} not written" for msg, paths in problems.items()
        )
        raise ExportIncomplete(message, written=written, failed=failed)
    return written


Writer = Callable[[Analysis, "KnowledgeBase | None", Path, str], tuple[list[Path], "str | None"]]


def _advisory(
    analysis: Analysis, kb: KnowledgeBase | None, out_dir: Path, stem: str
) -> tuple[list[Path], str]:
    from ttpmap.publish import advisory

    return advisory.write(analysis, kb, out_dir, stem)


def _brief(analysis: Analysis, kb: KnowledgeBase | None, out_dir: Path, stem: str) -> tuple[list[Path], str]:
    from ttpmap.publish import brief

    return brief.write(analysis, kb, out_dir, stem)


def _navigator(
    analysis: Analysis, kb: KnowledgeBase | None, out_dir: Path, stem: str
) -> tuple[list[Path], None]:
    from ttpmap.publish import navigator

    return [write_atomic(out_dir / f"{stem}-layer.json", navigator.to_json(analysis, kb))], None


def _stix(analysis: Analysis, kb: KnowledgeBase | None, out_dir: Path, stem: str) -> tuple[list[Path], None]:
    from ttpmap.publish import stix

    return [write_atomic(out_dir / f"{stem}-stix.json", stix.to_json(analysis, kb))], None


def _misp(analysis: Analysis, kb: KnowledgeBase | None, out_dir: Path, stem: str) -> tuple[list[Path], None]:
    from ttpmap.publish import misp

    try:
        text = misp.to_json(analysis, kb)
    except ImportError as exc:
        raise ExportError("MISP export needs pymisp (pip install 'ttpmap[publish]')") from exc
    return [write_atomic(out_dir / f"{stem}-misp.json", text)], None


def _csv(analysis: Analysis, kb: KnowledgeBase | None, out_dir: Path, stem: str) -> tuple[list[Path], None]:
    from ttpmap.publish import csv

    return [
        write_atomic(out_dir / f"{stem}-techniques.csv", csv.techniques_csv(analysis, kb)),
        write_atomic(out_dir / f"{stem}-iocs.csv", csv.iocs_csv(analysis)),
    ], None


def _json(analysis: Analysis, kb: KnowledgeBase | None, out_dir: Path, stem: str) -> tuple[list[Path], None]:
    return [write_atomic(out_dir / f"{stem}.json", analysis.to_json() + "\n")], None


_WRITERS: dict[str, Writer] = {
    "advisory": _advisory,
    "brief": _brief,
    "navigator": _navigator,
    "stix": _stix,
    "misp": _misp,
    "csv": _csv,
    "json": _json,
}
