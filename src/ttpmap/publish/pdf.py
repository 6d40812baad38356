"""HTML to PDF with WeasyPrint, imported only when a PDF is asked for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ttpmap.errors import ExportError

PANGO_HINT = (
    "PDF export needs Pango (apt-get install libpango-1.0-0 libpangoft2-1.0-0) and WeasyPrint "
    "(pip install 'ttpmap[publish]')"
)


def html_to_pdf(html: str, path: Path) -> Path:
    """Write ``html`` as a PDF; ExportError with an install hint if WeasyPrint or Pango is missing.

    Only ``data:`` resources are fetched: a document built from untrusted text never reaches out.
    """
    try:
        import weasyprint
    except (ImportError, OSError) as exc:
        raise ExportError(f"{PANGO_HINT} ({type(exc).__name__})") from exc

    from ttpmap.publish.files import write_atomic

    pdf = weasyprint.HTML(
        string=html, base_url=str(path.parent), url_fetcher=_data_only_fetcher(weasyprint)
    ).write_pdf()
    return write_atomic(path, pdf)


def _data_only_fetcher(weasyprint: Any) -> Any:
    """A URL fetcher for ``data:`` URIs only (WeasyPrint >= 68 has a class for it; older ones a function)."""
    fetcher_class = getattr(getattr(weasyprint, "urls", None), "URLFetcher", None)
    if fetcher_class is not None:
        return fetcher_class(allowed_protocols={"data"})

    def data_only(url: str, *args: Any, **kwargs: Any) -> Any:
        if not url.startswith("data:"):
            raise ValueError(f"refusing to fetch {url[:40]!r} while rendering a PDF")
        return weasyprint.default_url_fetcher(url, *args, **kwargs)

    return data_only
