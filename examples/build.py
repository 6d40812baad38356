#!/usr/bin/env python3
"""Render the bundled example threat reports into the formats ttpmap ingests.

Every example is written once, as Markdown, next to this script. This script turns
each one into

* ``NAME.html``: a complete web page with site navigation and a footer around the
  article, the way a vendor blog or a government advisory page looks;
* ``NAME.pdf``: an A4 advisory (WeasyPrint) with a TLP:CLEAR marking, a running
  header and a numbered footer on every page;

and additionally writes ``apt-exchange-intrusion.docx`` (python-docx) and
``phishing-campaign.stix.json`` (a STIX 2.1 bundle built with the stix2 library).

The output is deterministic: fixed dates, identifiers and ZIP timestamps, so that
rebuilding without changing the Markdown gives byte-identical files (with the same
library versions).

Usage::

    python examples/build.py            # build everything
    python examples/build.py --only html pdf

Needs: markdown, weasyprint, python-docx, stix2.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import io
import os
import re
import sys
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent

# fontTools (used by WeasyPrint to subset fonts) stamps the subset with the current time
# unless SOURCE_DATE_EPOCH is set; pin it so that the PDFs are reproducible.
os.environ.setdefault("SOURCE_DATE_EPOCH", "1715644800")  # 2024-05-14T00:00:00Z


@dataclass(frozen=True)
class Example:
    """One example report and the fictional publisher that 'issued' it."""

    name: str
    publisher: str
    reference: str
    section: str
    kind: str
    published: str  # ISO date

    @property
    def source(self) -> Path:
        return HERE / f"{self.name}.md"


EXAMPLES = [
    Example(
        "apt-exchange-intrusion",
        "Regional Cyber Security Centre",
        "RCSC-AA-2024-017",
        "Joint advisories",
        "Joint Cybersecurity Advisory",
        "2024-05-14",
    ),
    Example(
        "ransomware-healthcare",
        "Ashgrove Incident Response",
        "AIR-2024-0311",
        "Incident reports",
        "Incident Report",
        "2024-04-22",
    ),
    Example(
        "phishing-campaign",
        "Northlight Threat Intelligence",
        "NTI-TB-24-09",
        "Threat briefs",
        "Threat Brief",
        "2024-09-03",
    ),
]


# --------------------------------------------------------------------------------------
# Markdown


def read_markdown(example: Example) -> tuple[str, str]:
    """Return (title, body) where title is the first level-one heading."""
    text = example.source.read_text(encoding="utf-8")
    match = re.search(r"^# (.+)$", text, flags=re.MULTILINE)
    if not match:
        raise SystemExit(f"{example.source.name}: no '# ' title heading")
    return match.group(1).strip(), text


def markdown_to_html(text: str) -> str:
    import markdown

    return markdown.markdown(text, extensions=["tables", "fenced_code"], output_format="html")


# --------------------------------------------------------------------------------------
# HTML web page

PAGE_CSS = """
*{box-sizing:border-box}
body{margin:0;font-family:"Segoe UI",Helvetica,Arial,sans-serif;color:#1c2430;background:#f4f6f8;
 line-height:1.55}
a{color:#0b5394}
.skip{position:absolute;left:-9999px}
header.site{background:#10263d;color:#fff;padding:0 2rem;display:flex;align-items:center;
 justify-content:space-between;flex-wrap:wrap}
header.site .brand{font-weight:700;font-size:1.15rem;padding:1rem 0;letter-spacing:.02em}
header.site nav a{color:#dbe6f1;text-decoration:none;margin-left:1.4rem;font-size:.95rem}
.crumbs{max-width:60rem;margin:1.2rem auto 0;padding:0 2rem;font-size:.85rem;color:#5b6775}
main{max-width:60rem;margin:0 auto;padding:1rem 2rem 3rem}
article{background:#fff;padding:2rem 2.5rem;border:1px solid #dde3ea;border-radius:4px}
article h1{font-size:1.8rem;line-height:1.25;margin-top:0;color:#10263d}
article h2{font-size:1.3rem;margin-top:2rem;border-bottom:2px solid #e3e8ee;padding-bottom:.25rem;
 color:#10263d}
article h3{font-size:1.08rem;margin-top:1.5rem}
table{border-collapse:collapse;width:100%;margin:1rem 0;font-size:.9rem}
th,td{border:1px solid #d3dae2;padding:.4rem .6rem;text-align:left;vertical-align:top}
th{background:#eef2f6}
table.ioc td:nth-child(2){font-family:Consolas,"DejaVu Sans Mono",monospace;
 font-size:.85rem;word-break:break-all}
code{font-family:Consolas,"DejaVu Sans Mono",monospace;font-size:.88em;background:#f1f3f5;
 padding:0 .2em}
pre{background:#0f1b27;color:#e6edf3;padding:.9rem 1rem;overflow-x:auto;border-radius:4px}
pre code{background:none;color:inherit;padding:0}
aside.share{margin-top:1.5rem;font-size:.85rem;color:#5b6775}
footer.site{background:#10263d;color:#b8c7d6;padding:1.5rem 2rem;font-size:.85rem}
footer.site a{color:#dbe6f1}
.cookie{position:fixed;bottom:0;left:0;right:0;background:#263645;color:#fff;padding:.6rem 2rem;
 font-size:.85rem}
"""

PAGE_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} | {publisher}</title>
<meta name="description" content="{description}">
<meta name="author" content="{publisher}">
<meta property="og:title" content="{title}">
<meta property="og:type" content="article">
<meta property="article:published_time" content="{published}">
<style>{css}</style>
</head>
<body>
<div class="skip"><a href="#main">Skip to main content</a></div>
<header class="site">
  <div class="brand">{publisher}</div>
  <nav aria-label="Main">
    <a href="#">Home</a>
    <a href="#">{section}</a>
    <a href="#">Threat research</a>
    <a href="#">Report an incident</a>
    <a href="#">About us</a>
    <a href="#">Contact</a>
  </nav>
</header>
<div class="crumbs">Home &rsaquo; {section} &rsaquo; {reference}</div>
<main id="main">
<article>
{body}
</article>
<aside class="share">Share this page: Email &middot; LinkedIn &middot; Mastodon &middot; Print</aside>
</main>
<footer class="site">
  <p>&copy; 2024 {publisher}. All rights reserved.</p>
  <p><a href="#">Privacy</a> &middot; <a href="#">Terms of use</a> &middot; <a href="#">Accessibility</a>
  &middot; <a href="#">Cookie settings</a> &middot; <a href="#">Subscribe to alerts</a></p>
  <p>Fictional example report written for the ttpmap project.</p>
</footer>
<div class="cookie">We use essential cookies to make this site work. <a href="#">Accept</a>
<a href="#">Manage preferences</a></div>
</body>
</html>
"""


def first_paragraph(body_html: str) -> str:
    """Plain text of the first paragraph after the Summary/Overview heading, for metadata."""
    match = re.search(r"<h2>[^<]*</h2>\s*<p>(.*?)</p>", body_html, flags=re.DOTALL)
    text = re.sub(r"<[^>]+>", "", match.group(1)) if match else ""
    text = html.unescape(" ".join(text.split()))
    return text[:297].rsplit(" ", 1)[0] + "..." if len(text) > 300 else text


def mark_ioc_tables(body_html: str) -> str:
    """Give indicator tables (first header cell "Type") a class, so they can be styled apart."""
    return re.sub(r"<table>(\s*<thead>\s*<tr>\s*<th>Type</th>)", r'<table class="ioc">\1', body_html)


def build_html(example: Example) -> Path:
    title, text = read_markdown(example)
    body = mark_ioc_tables(markdown_to_html(text))
    page = PAGE_TEMPLATE.format(
        title=html.escape(title),
        publisher=html.escape(example.publisher),
        description=html.escape(first_paragraph(body), quote=True),
        published=example.published,
        section=html.escape(example.section),
        reference=html.escape(example.reference),
        css=PAGE_CSS,
        body=body,
    )
    out = HERE / f"{example.name}.html"
    out.write_text(page, encoding="utf-8")
    return out


# --------------------------------------------------------------------------------------
# PDF advisory (WeasyPrint)

PDF_CSS = """
@page {{
  size: A4;
  margin: 24mm 15mm 20mm 15mm;
  @top-left {{
    content: "{header}"; width: 78%;
    font: 7.5pt "DejaVu Sans", sans-serif; color: #4a5563;
    border-bottom: 0.6pt solid #9aa5b1; vertical-align: bottom; padding-bottom: 2mm;
  }}
  @top-right {{
    content: element(tlp); width: 22%;
    border-bottom: 0.6pt solid #9aa5b1; vertical-align: bottom; padding-bottom: 1.2mm;
  }}
  @bottom-left {{
    content: "{footer}"; width: 78%;
    font: 7pt "DejaVu Sans", sans-serif; color: #6b7785;
    border-top: 0.6pt solid #9aa5b1; vertical-align: top; padding-top: 2mm;
  }}
  @bottom-right {{
    content: "Page " counter(page) " of " counter(pages); width: 22%; text-align: right;
    font: 7pt "DejaVu Sans", sans-serif; color: #6b7785;
    border-top: 0.6pt solid #9aa5b1; vertical-align: top; padding-top: 2mm;
  }}
}}
body {{ margin: 0; }}
.tlp {{ position: running(tlp); text-align: right; }}
.tlp span {{ font: bold 8pt "DejaVu Sans", sans-serif; color: #ffffff; background: #000000;
            padding: 0.6mm 2.5mm; }}
html {{ font-family: "DejaVu Sans", sans-serif; font-size: 8.8pt; color: #1b232d; line-height: 1.45; }}
.banner {{ background: #10263d; color: #ffffff; padding: 3.5mm 5mm; margin-bottom: 5mm; }}
.banner .org {{ font-size: 11pt; font-weight: bold; letter-spacing: 0.03em; }}
.banner .kind {{ font-size: 8pt; color: #c6d4e2; margin-top: 1mm; }}
h1 {{ font-size: 16pt; line-height: 1.25; color: #10263d; margin: 0 0 3mm 0; }}
h2 {{ font-size: 11.5pt; color: #10263d; border-bottom: 1pt solid #c9d2dc; padding-bottom: 1mm;
      margin: 6mm 0 2mm 0; page-break-after: avoid; }}
h3 {{ font-size: 9.6pt; color: #1f3a57; margin: 4mm 0 1.5mm 0; page-break-after: avoid; }}
p {{ margin: 0 0 2.2mm 0; text-align: left; orphans: 3; widows: 3; }}
ul, ol {{ margin: 0 0 2.5mm 0; padding-left: 6mm; }}
li {{ margin-bottom: 1mm; }}
code {{ font-family: "DejaVu Sans Mono", monospace; font-size: 8pt; }}
p code, li code, td code, .nobr {{ white-space: nowrap; }}
td code {{ font-size: 7pt; }}
pre {{ font-family: "DejaVu Sans Mono", monospace; font-size: 7pt; line-height: 1.35;
       background: #f1f4f7; border-left: 2pt solid #10263d; padding: 2mm 3mm; margin: 0 0 3mm 0;
       white-space: pre-wrap; page-break-inside: avoid; }}
pre code {{ font-size: 7pt; }}
table {{ border-collapse: collapse; width: 100%; margin: 1mm 0 3mm 0; font-size: 7.6pt; }}
thead {{ display: table-header-group; }}
tr {{ page-break-inside: avoid; }}
th {{ background: #10263d; color: #ffffff; text-align: left; padding: 1.2mm 1.8mm; }}
td {{ border-bottom: 0.5pt solid #c9d2dc; padding: 1.1mm 1.8mm; vertical-align: top; }}
tr:nth-child(even) td {{ background: #f6f8fa; }}
table.ioc td:nth-child(1) {{ width: 18mm; }}
table.ioc td:nth-child(2) {{ font-family: "DejaVu Sans Mono", monospace; font-size: 7pt;
                            white-space: nowrap; }}
"""


# A defanged or URL-like token in running text: "gov-tender-notices[.]org", "hxxps://...".
_INDICATOR_TOKEN = re.compile(r"[^\s<>()]*(?:\[\.\]|\[@\]|://)[^\s<>()]*[^\s<>().,;:]")


def keep_indicators_whole(body_html: str) -> str:
    """Stop the PDF from breaking indicators at hyphens, so extracted text keeps them intact."""
    parts = re.split(r"(<pre>.*?</pre>|<[^>]+>)", body_html, flags=re.DOTALL)
    for i, part in enumerate(parts):
        if part and not part.startswith("<"):
            parts[i] = _INDICATOR_TOKEN.sub(lambda m: f'<span class="nobr">{m.group(0)}</span>', part)
    return "".join(parts)


def build_pdf(example: Example) -> Path:
    from weasyprint import HTML

    title, text = read_markdown(example)
    body = markdown_to_html(text)
    # Tables whose first header cell is "Type" are indicator tables: keep each value on one line.
    body = keep_indicators_whole(mark_ioc_tables(body))
    header = f"{example.publisher}  |  {example.reference}"
    footer = f"{example.publisher}  -  fictional example report for ttpmap"
    css = PDF_CSS.format(header=header.replace('"', r"\""), footer=footer.replace('"', r"\""))
    document = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)}</title>
<meta name="author" content="{html.escape(example.publisher)}">
<meta name="description" content="{html.escape(first_paragraph(body), quote=True)}">
<meta name="keywords" content="threat intelligence, ATT&amp;CK, advisory, TLP:CLEAR">
<meta name="dcterms.created" content="{example.published}T00:00:00Z">
<meta name="dcterms.modified" content="{example.published}T00:00:00Z">
<style>{css}</style></head>
<body>
<div class="tlp"><span>TLP:CLEAR</span></div>
<div class="banner"><div class="org">{html.escape(example.publisher)}</div>
<div class="kind">{html.escape(example.kind)} {html.escape(example.reference)}</div></div>
{body}
</body></html>"""
    out = HERE / f"{example.name}.pdf"
    identifier = hashlib.md5(text.encode("utf-8")).hexdigest().encode("ascii")
    HTML(string=document, base_url=str(HERE)).write_pdf(out, pdf_identifier=identifier)
    return out


# --------------------------------------------------------------------------------------
# DOCX (python-docx), from a small Markdown block parser

INLINE = re.compile(r"(\*\*[^*]+\*\*|`[^`]+`)")


def _add_inline(paragraph, text: str) -> None:
    """Add text to a paragraph, turning **bold** and `code` into styled runs."""
    from docx.shared import Pt

    for part in INLINE.split(text):
        if not part:
            continue
        if part.startswith("**") and part.endswith("**"):
            paragraph.add_run(part[2:-2]).bold = True
        elif part.startswith("`") and part.endswith("`"):
            run = paragraph.add_run(part[1:-1])
            run.font.name = "Consolas"
            run.font.size = Pt(9)
        else:
            paragraph.add_run(part)


def _blocks(text: str):
    """Yield (kind, payload) blocks of the constrained Markdown used by the examples."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif line.startswith("```"):
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            yield "code", "\n".join(lines[i + 1 : j])
            i = j + 1
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            yield f"h{level}", line[level:].strip()
            i += 1
        elif line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                if not all(re.fullmatch(r":?-{3,}:?", c) for c in cells):
                    rows.append(cells)
                i += 1
            yield "table", rows
        elif re.match(r"^(- |\d+\. )", line):
            ordered = bool(re.match(r"^\d+\. ", line))
            items = []
            while i < len(lines) and re.match(r"^(- |\d+\. )", lines[i]):
                items.append(re.sub(r"^(- |\d+\. )", "", lines[i]))
                i += 1
            yield ("ol" if ordered else "ul"), items
        else:
            para = []
            while i < len(lines) and lines[i].strip() and not re.match(r"^(#|```|\||- |\d+\. )", lines[i]):
                para.append(lines[i].strip())
                i += 1
            yield "p", " ".join(para)


def _normalise_zip(path: Path) -> None:
    """Rewrite a ZIP container with fixed member timestamps so the file is reproducible."""
    with zipfile.ZipFile(path) as src:
        members = [(info.filename, src.read(info.filename)) for info in src.infolist()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2024, 5, 14, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, data)
    path.write_bytes(buffer.getvalue())


def build_docx(example: Example) -> Path:
    import datetime as dt

    from docx import Document
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.shared import Pt, RGBColor

    title, text = read_markdown(example)
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = "Calibri"
    normal.font.size = Pt(10.5)

    header = doc.sections[0].header.paragraphs[0]
    header.text = f"TLP:CLEAR    {example.publisher} | {example.reference}"
    footer = doc.sections[0].footer.paragraphs[0]
    footer.text = "Fictional example report written for the ttpmap project."

    for kind, payload in _blocks(text):
        if kind == "h1":
            doc.add_heading(payload, level=0)
        elif kind in ("h2", "h3"):
            doc.add_heading(payload, level=int(kind[1]) - 1)
        elif kind == "p":
            _add_inline(doc.add_paragraph(), payload)
        elif kind in ("ul", "ol"):
            style = "List Bullet" if kind == "ul" else "List Number"
            for item in payload:
                _add_inline(doc.add_paragraph(style=style), item)
        elif kind == "code":
            para = doc.add_paragraph()
            run = para.add_run(payload)
            run.font.name = "Consolas"
            run.font.size = Pt(8.5)
            run.font.color.rgb = RGBColor(0x1F, 0x3A, 0x57)
        elif kind == "table":
            head, *rows = payload
            table = doc.add_table(rows=1, cols=len(head))
            table.style = "Light Grid Accent 1"
            table.alignment = WD_TABLE_ALIGNMENT.CENTER
            for cell, value in zip(table.rows[0].cells, head, strict=True):
                cell.text = ""
                cell.paragraphs[0].add_run(value).bold = True
            for row in rows:
                cells = table.add_row().cells
                for cell, value in zip(cells, row, strict=True):
                    cell.text = ""
                    _add_inline(cell.paragraphs[0], value)

    props = doc.core_properties
    props.title = title
    props.author = example.publisher
    props.last_modified_by = example.publisher
    props.subject = "Threat intelligence advisory (fictional example)"
    props.keywords = "TLP:CLEAR; advisory; example"
    props.comments = "Generated by examples/build.py for ttpmap."
    props.revision = 1
    stamp = dt.datetime.fromisoformat(f"{example.published}T00:00:00+00:00")
    props.created = stamp
    props.modified = stamp
    props.last_printed = stamp

    out = HERE / f"{example.name}.docx"
    doc.save(out)
    _normalise_zip(out)
    return out


# --------------------------------------------------------------------------------------
# STIX 2.1 bundle for the phishing example

STIX_NAMESPACE = uuid.UUID("5c4c1b5e-8f0e-4c55-9d0a-7a1f2f0d9e61")
STIX_TIME = "2024-09-03T09:00:00.000Z"

STIX_SUMMARY = (
    "Since late June 2024, Northlight Threat Intelligence has tracked a spearphishing campaign "
    "against accounts-payable and treasury staff at mid-sized banks and payment processors, and "
    "against procurement officers in national and municipal government bodies. Thirty-eight "
    "organisations were targeted and nine reported at least one compromised workstation. Lures "
    "arrived in four forms: invoice-themed emails from lookalike supplier domains carrying ISO disk "
    "images that held a shortcut disguised as a PDF and a hidden DLL; tender-clarification emails "
    "linking to a page that assembled the same ISO inside the browser through HTML smuggling; Word "
    "documents whose VBA macro launched mshta.exe against a remote HTML Application; and links to a "
    "fake Microsoft 365 sign-in page that harvested credentials, which were then used to read "
    "invoice threads in webmail. Each malware path required the victim to open the file and click "
    "through. The shortcut ran the DLL with rundll32.exe, starting a downloader we call PAPERKITE. "
    "PAPERKITE reports the host name, user, domain, operating system and security products to its "
    "controller and, for approved victims, fetches an XOR-encoded second stage over plain HTTP. "
    "That second stage, the SABLECREST backdoor, is stored under the user's AppData folder and "
    "started at every logon from a value under the current user's Run registry key. SABLECREST "
    "talks to its operators over HTTPS and uses domain fronting, presenting a high-reputation "
    "website in the TLS server name while the encrypted Host header names cdn-edgefront.net. Its "
    "modules log keystrokes with window titles and take screenshots, more often when payment, "
    "SWIFT, treasury or tender windows are in the foreground, and upload both over the command and "
    "control channel. We have not attributed this activity to a known group; the focus on payment "
    "workflows suggests financial motivation, but the selection of procurement staff is also "
    "consistent with intelligence collection. All names and indicators are fictional."
)

STIX_TECHNIQUES = [
    ("T1566.001", "Spearphishing Attachment"),
    ("T1566.002", "Spearphishing Link"),
    ("T1598.003", "Spearphishing Link"),
    ("T1027.006", "HTML Smuggling"),
    ("T1553.005", "Mark-of-the-Web Bypass"),
    ("T1204.002", "Malicious File"),
    ("T1059.005", "Visual Basic"),
    ("T1218.005", "Mshta"),
    ("T1218.011", "Rundll32"),
    ("T1105", "Ingress Tool Transfer"),
    ("T1547.001", "Registry Run Keys / Startup Folder"),
    ("T1090.004", "Domain Fronting"),
    ("T1056.001", "Keylogging"),
    ("T1113", "Screen Capture"),
]

STIX_INDICATORS = [
    ("Lure sender address", "[email-addr:value = 'billing@ledgerpoint-invoices.com']"),
    ("SABLECREST command and control domain", "[domain-name:value = 'cdn-edgefront.net']"),
    ("HTML smuggling page host", "[domain-name:value = 'gov-tender-notices.org']"),
    ("Credential harvesting host", "[domain-name:value = 'login.office-docsview.com']"),
    ("SABLECREST download URL", "[url:value = 'http://files.doc-archive-share.com/s2/pk.bin']"),
    ("Payload host address", "[ipv4-addr:value = '45.63.121.18']"),
    (
        "SABLECREST DLL (credsync.dll)",
        "[file:hashes.'SHA-256' = 'ad590acbc5fbb5ecb983b410e6f58de9b9d56191e28c2f2388dc10da5bffacef']",
    ),
    (
        "PAPERKITE DLL (msvcfg.dll)",
        "[file:hashes.'SHA-256' = '7ba054769ba41cbb44f0753903870712d5f63adfa395d6cff31aeea03bdba261']",
    ),
]


def _sid(kind: str, name: str) -> str:
    """A fixed identifier for a STIX object: UUIDv4-shaped (as the spec recommends for SDOs)
    but derived from the object's kind and name, so it is the same on every build."""
    digest = hashlib.sha256(f"{STIX_NAMESPACE}:{kind}:{name}".encode()).digest()
    return f"{kind}--{uuid.UUID(bytes=digest[:16], version=4)}"


def build_stix(example: Example) -> Path:
    import stix2

    common = {"created": STIX_TIME, "modified": STIX_TIME}
    author = stix2.Identity(
        id=_sid("identity", "northlight"),
        name="Northlight Threat Intelligence",
        identity_class="organization",
        description="Fictional threat intelligence team used in the ttpmap examples.",
        **common,
    )
    marks = [stix2.TLP_WHITE]  # TLP:WHITE is the STIX 2.1 marking equivalent of TLP:CLEAR
    owned = {"created_by_ref": author.id, "object_marking_refs": marks, **common}

    paperkite = stix2.Malware(
        id=_sid("malware", "PAPERKITE"),
        name="PAPERKITE",
        is_family=True,
        malware_types=["downloader"],
        description="Small downloader that profiles the host and retrieves SABLECREST over HTTP.",
        **owned,
    )
    sablecrest = stix2.Malware(
        id=_sid("malware", "SABLECREST"),
        name="SABLECREST",
        is_family=True,
        malware_types=["backdoor", "keylogger", "screen-capture"],
        description="Modular backdoor with keylogging and screenshot modules; HTTPS C2 with domain fronting.",
        **owned,
    )
    patterns = [
        stix2.AttackPattern(
            id=_sid("attack-pattern", tid),
            name=name,
            external_references=[
                {
                    "source_name": "mitre-attack",
                    "external_id": tid,
                    "url": "https://attack.mitre.org/techniques/" + tid.replace(".", "/") + "/",
                }
            ],
            **owned,
        )
        for tid, name in STIX_TECHNIQUES
    ]
    indicators = [
        stix2.Indicator(
            id=_sid("indicator", pattern),
            name=name,
            description=f"{name}, seen in the phishing campaign described in NTI-TB-24-09.",
            indicator_types=["malicious-activity"],
            pattern=pattern,
            pattern_type="stix",
            valid_from=STIX_TIME,
            **owned,
        )
        for name, pattern in STIX_INDICATORS
    ]

    def rel(source, kind, target):
        return stix2.Relationship(
            id=_sid("relationship", f"{source.id}:{kind}:{target.id}"),
            source_ref=source.id,
            relationship_type=kind,
            target_ref=target.id,
            **owned,
        )

    early = {
        "T1566.001",
        "T1566.002",
        "T1598.003",
        "T1027.006",
        "T1553.005",
        "T1204.002",
        "T1059.005",
        "T1218.005",
        "T1218.011",
        "T1105",
    }
    relationships = [rel(paperkite, "downloads", sablecrest)]
    for pattern in patterns:
        tid = pattern.external_references[0].external_id
        relationships.append(rel(paperkite if tid in early else sablecrest, "uses", pattern))
    for indicator in indicators:
        target = paperkite if "PAPERKITE" in indicator.name else sablecrest
        relationships.append(rel(indicator, "indicates", target))

    objects = [paperkite, sablecrest, *patterns, *indicators, *relationships]
    report = stix2.Report(
        id=_sid("report", example.reference),
        name="Multi-Stage Spearphishing Campaign Targeting Finance and Government Organisations",
        description=STIX_SUMMARY,
        published="2024-09-03T00:00:00.000Z",
        report_types=["threat-report", "malware"],
        labels=["TLP:CLEAR", example.reference],
        object_refs=[obj.id for obj in objects],
        **owned,
    )
    bundle = stix2.Bundle(author, stix2.TLP_WHITE, report, *objects, id=_sid("bundle", example.reference))
    out = HERE / f"{example.name}.stix.json"
    out.write_text(bundle.serialize(pretty=True) + "\n", encoding="utf-8")
    return out


# --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only",
        nargs="+",
        choices=["html", "pdf", "docx", "stix"],
        help="build only these formats (default: all)",
    )
    args = parser.parse_args(argv)
    wanted = set(args.only or ["html", "pdf", "docx", "stix"])

    built: list[Path] = []
    for example in EXAMPLES:
        if "html" in wanted:
            built.append(build_html(example))
        if "pdf" in wanted:
            built.append(build_pdf(example))
        if "docx" in wanted and example.name == "apt-exchange-intrusion":
            built.append(build_docx(example))
        if "stix" in wanted and example.name == "phishing-campaign":
            built.append(build_stix(example))
    for path in built:
        print(f"{path.relative_to(HERE.parent)}  {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
