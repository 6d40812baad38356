"""Each reader on a small, realistic report built inside the test: Markdown, HTML, PDF, DOCX, STIX, text."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest

from ttpmap.errors import InputError
from ttpmap.ingest import detect_media_type, expand_sources, load
from ttpmap.models import Document


def write(tmp_path: Path, name: str, content: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def sentence_texts(doc: Document) -> list[str]:
    assert all(doc.text[s.start : s.end] == s.text for s in doc.sentences)
    return [s.text for s in doc.sentences]


# --- Markdown ----------------------------------------------------------------------------------

MARKDOWN = """\
# APT99 *targets* the energy sector

In **March 2024**, APT99 sent [spearphishing emails](https://example.com/post "post") to staff.
The attachment ![screenshot](shot.png) dropped `svchost.exe` into `C:\\Users\\Public`.

## Execution

```
cmd.exe /c whoami & net user
powershell -nop -enc SQBFAFgA
```

| Indicator | Type |
|-----------|------|
| evil[.]com | domain |
| 10.1.2.3 | ipv4 |

- Initial access via _phishing_
- Persistence via Run keys
"""


def test_markdown_report(tmp_path: Path) -> None:
    doc = load(write(tmp_path, "report.md", MARKDOWN))
    assert doc.media_type == "markdown"
    assert doc.title == "APT99 targets the energy sector"
    for markup in ("**", "](", "![", "```", "# ", "|---", "https://example.com", "shot.png"):
        assert markup not in doc.text
    assert sentence_texts(doc) == [
        "APT99 targets the energy sector",
        "In March 2024, APT99 sent spearphishing emails to staff.",
        "The attachment dropped svchost.exe into C:\\Users\\Public.",
        "Execution",
        "cmd.exe /c whoami & net user",
        "powershell -nop -enc SQBFAFgA",
        "Indicator | Type",
        "evil[.]com | domain",
        "10.1.2.3 | ipv4",
        "Initial access via phishing",
        "Persistence via Run keys",
    ]


def test_markdown_is_detected_from_content_not_extension(tmp_path: Path) -> None:
    assert load(write(tmp_path, "notes.txt", MARKDOWN)).media_type == "markdown"
    plain = "Weekly summary\nNothing unusual was observed this week.\n"
    assert load(write(tmp_path, "plain.md", plain)).media_type == "markdown"  # extension breaks the tie
    assert load(write(tmp_path, "plain.txt", plain)).media_type == "text"


def test_markdown_keeps_paths_and_defanged_indicators() -> None:
    from ttpmap.ingest.text import markdown_to_text

    text, _ = markdown_to_text(
        "Key HKCU\\Software\\Classes\\CLSID\\{0000-1111} and share \\\\host\\c$ held \\*escaped\\* text.\n"
        "See hxxp://evil[.]com/x and [the report][1] on __init__ and a_b_c.\n"
        "[1]: https://example.com/report\n"
    )
    assert text.splitlines() == [
        "Key HKCU\\Software\\Classes\\CLSID\\{0000-1111} and share \\\\host\\c$ held *escaped* text.",
        "See hxxp://evil[.]com/x and the report on init and a_b_c.",
        "",
    ]


def test_content_beats_the_extension(tmp_path: Path) -> None:
    assert load(write(tmp_path, "report.txt", make_pdf(PDF_PAGES))).media_type == "pdf"
    assert load(write(tmp_path, "page.md", HTML)).media_type == "html"
    assert load(write(tmp_path, "bundle.html", json.dumps(stix_bundle()))).media_type == "stix"


def test_markdown_front_matter_title(tmp_path: Path) -> None:
    doc = load(write(tmp_path, "fm.md", '---\ntitle: "Front matter title"\n---\n# Heading\n\nBody text.\n'))
    assert doc.title == "Front matter title"
    assert "title:" not in doc.text


# --- HTML ----------------------------------------------------------------------------------------

HTML = """<!DOCTYPE html>
<html><head><title>APT99 targets energy | ACME Blog</title>
<style>body { color: red } .LEAKSTYLE {}</style>
<script>var LEAKSCRIPT = "document.write('x')";</script>
</head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/blog">Blog archive</a></li></ul></nav>
<main><article>
<h1>APT99 targets the energy sector</h1>
<p>In March 2024, APT99 sent spearphishing emails with malicious attachments to employees of two
utilities. The attachment dropped a loader named <b>svchost.exe</b> into the temp folder.</p>
<h2>Execution</h2>
<p>The loader ran the following commands:</p>
<pre>cmd.exe /c whoami &amp; net user
powershell -nop -enc SQBFAFgA</pre>
<p>It then contacted hxxp://1.2.3[.]4/a.php to download its second stage.</p>
<table><tr><th>Indicator</th><th>Type</th></tr>
<tr><td>evil[.]com</td><td>domain</td></tr><tr><td>10.1.2.3</td><td>ipv4</td></tr></table>
<script>console.log("LEAKSCRIPT2")</script>
</article></main>
<footer>Copyright 2024 ACME. All rights reserved. Privacy policy and cookie settings.</footer>
</body></html>
"""


def test_html_report(tmp_path: Path) -> None:
    doc = load(write(tmp_path, "page.html", HTML))
    assert doc.media_type == "html"
    assert doc.title == "APT99 targets energy | ACME Blog"
    for unwanted in ("LEAK", "document.write", "color: red", "Blog archive", "Privacy policy"):
        assert unwanted not in doc.text
    got = sentence_texts(doc)
    for expected in (
        "APT99 targets the energy sector",
        "The attachment dropped a loader named svchost.exe into the temp folder.",
        "cmd.exe /c whoami & net user",
        "powershell -nop -enc SQBFAFgA",
        "It then contacted hxxp://1.2.3[.]4/a.php to download its second stage.",
        "evil[.]com | domain",
        "10.1.2.3 | ipv4",
    ):
        assert expected in got


def test_html_fallback_when_trafilatura_finds_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("trafilatura.extract", lambda *args, **kwargs: None)
    doc = load(write(tmp_path, "page.htm", HTML))
    assert doc.metadata["extractor"] == "lxml"
    assert "LEAK" not in doc.text and "Blog archive" not in doc.text and "Privacy policy" not in doc.text
    assert "evil[.]com | domain" in sentence_texts(doc)
    assert "powershell -nop -enc SQBFAFgA" in doc.text


def test_html_fragment_without_html_tag_is_detected(tmp_path: Path) -> None:
    fragment = "<div><h2>Summary</h2><p>APT99 used <b>WMI</b> for execution.</p><p>It used RDP.</p></div>"
    assert detect_media_type(fragment.encode(), "fragment.txt") == "html"
    doc = load(write(tmp_path, "fragment.txt", fragment))
    assert "<p>" not in doc.text and "APT99 used WMI for execution." in sentence_texts(doc)


# --- PDF -------------------------------------------------------------------------------------------

PDF_PAGES = [
    [
        "Operation Ligature: APT99 against finance",
        "The actor used spearphishing links to deliver a malicious ﬁle to victims in the finance",
        "sector, then moved laterally with stolen credentials and staged the data for exfil-",
        "tration over an encrypted command-and-",
        "control channel that used a ﬂexible custom protocol.",
        "Persistence",
        "A Run key launched the loader at each logon; the loader was copied to the ofﬁce",
        "templates folder and masqueraded as a legitimate update component that is",
    ],
    [
        "signed with a stolen certificate, so it blended in with other software on the host.",
        "The operators also created a scheduled task that ran every hour as a fallback in case",
        "the Run key was removed by defenders.",
    ],
    [
        "Indicators include evil[.]com and 10.1.2.3 as well as the file svchost.exe.",
        "- Initial access via phishing links",
        "- Exfiltration over the C2 channel",
    ],
]


def make_pdf(pages: list[list[str]], *, title: str = "Operation Ligature", furniture: bool = True) -> bytes:
    """A PDF with one text line per entry, a running header and a "Page N of M" footer."""
    reportlab = pytest.importorskip("reportlab")
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    # Vera ships with reportlab and has the fi/fl ligature glyphs the test needs.
    vera = Path(reportlab.__file__).parent / "fonts" / "Vera.ttf"
    pdfmetrics.registerFont(TTFont("Vera", str(vera)))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(595, 842))
    pdf.setTitle(title)
    for number, lines in enumerate(pages, start=1):
        if furniture:
            pdf.setFont("Vera", 8)
            pdf.drawString(72, 810, "ACME Threat Intelligence - TLP:CLEAR")
            pdf.drawString(72, 30, f"Page {number} of {len(pages)}")
        pdf.setFont("Vera", 10)
        for i, line in enumerate(lines):
            pdf.drawString(60, 770 - 14 * i, line)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def test_pdf_report(tmp_path: Path) -> None:
    doc = load(write(tmp_path, "report.pdf", make_pdf(PDF_PAGES)))
    assert doc.media_type == "pdf"
    assert doc.title == "Operation Ligature"
    assert doc.metadata["pages"] == 3
    text = doc.text
    # Ligatures normalised, line-end hyphens joined, real hyphens kept.
    assert "ﬁ" not in text and "ﬂ" not in text
    assert "malicious file" in text and "flexible" in text and "office" in text
    assert "exfiltration" in text and "exfil-" not in text
    assert "command-and-control channel" in text
    # Running header and footer removed.
    assert "ACME Threat Intelligence" not in text and "Page 2 of 3" not in text
    got = sentence_texts(doc)
    assert got[0] == "Operation Ligature: APT99 against finance"
    assert got[1].startswith("The actor used spearphishing") and got[1].endswith("flexible custom protocol.")
    assert "Persistence" in got
    # A paragraph running across a page break is re-flowed into one sentence.
    assert any(s.startswith("A Run key launched") and s.endswith("software on the host.") for s in got)
    assert got[-2:] == ["Initial access via phishing links", "Exfiltration over the C2 channel"]


def test_pdf_without_metadata_title_uses_first_line(tmp_path: Path) -> None:
    doc = load(write(tmp_path, "untitled.pdf", make_pdf(PDF_PAGES[:1], title="untitled", furniture=False)))
    assert doc.title == "Operation Ligature: APT99 against finance"


def test_owner_password_only_pdf_is_read(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(PDF_PAGES))))
    writer.encrypt(user_password="", owner_password="owner-secret")
    buffer = io.BytesIO()
    writer.write(buffer)
    doc = load(write(tmp_path, "protected.pdf", buffer.getvalue()))
    assert "exfiltration" in doc.text


# --- DOCX --------------------------------------------------------------------------------------------


def make_docx(*, title: str = "") -> bytes:
    import docx

    document = docx.Document()
    document.core_properties.title = title
    document.add_heading("Operation Docx", level=1)
    document.add_paragraph(
        "The actor used PowerShell to download a payload. It persisted via a scheduled task"
    )
    document.add_paragraph("Mimikatz", style="List Bullet")
    document.add_paragraph("PsExec", style="List Bullet")
    table = document.add_table(rows=2, cols=2)
    for r, row in enumerate([("evil[.]com", "domain"), ("10.1.2.3", "ipv4")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_paragraph("Closing remarks.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_docx_report(tmp_path: Path) -> None:
    doc = load(write(tmp_path, "report.docx", make_docx(title="Core Title")))
    assert doc.media_type == "docx"
    assert doc.title == "Core Title"
    assert sentence_texts(doc) == [
        "Operation Docx",
        "The actor used PowerShell to download a payload.",
        "It persisted via a scheduled task",
        "Mimikatz",
        "PsExec",
        "evil[.]com | domain",
        "10.1.2.3 | ipv4",
        "Closing remarks.",
    ]


def test_docx_title_falls_back_to_first_heading(tmp_path: Path) -> None:
    assert load(write(tmp_path, "noname.bin", make_docx())).title == "Operation Docx"


# --- STIX ----------------------------------------------------------------------------------------------


def stix_bundle(spec: str = "2.1") -> dict[str, object]:
    report: dict[str, object] = {
        "type": "report",
        "id": "report--0a1b",
        "name": "APT99 STIX report",
        "description": "APT99 used **spearphishing** against utilities. It then exfiltrated data.",
        "published": "2024-03-01T00:00:00Z",
        "object_refs": ["attack-pattern--1", "malware--1", "relationship--1", "indicator--1", "missing--1"],
    }
    objects: list[dict[str, object]] = [
        report,
        {
            "type": "attack-pattern",
            "id": "attack-pattern--1",
            "name": "Spearphishing Attachment",
            "description": "Adversaries may send emails with a malicious attachment.",
            "external_references": [{"source_name": "mitre-attack", "external_id": "T1566.001"}],
        },
        {"type": "malware", "id": "malware--1", "name": "EvilLoader", "is_family": True},
        {
            "type": "relationship",
            "id": "relationship--1",
            "relationship_type": "uses",
            "source_ref": "malware--1",
            "target_ref": "attack-pattern--1",
        },
        {
            "type": "indicator",
            "id": "indicator--1",
            "name": "C2 domain",
            "pattern": "[domain-name:value = 'evil.com']",
        },
        {"type": "tool", "id": "tool--unreferenced", "name": "NotInReport"},
    ]
    bundle: dict[str, object] = {"type": "bundle", "id": "bundle--1", "objects": objects}
    if spec == "2.0":
        bundle["spec_version"] = "2.0"
    else:
        for obj in objects:
            obj["spec_version"] = "2.1"
    return bundle


@pytest.mark.parametrize("spec", ["2.0", "2.1"])
def test_stix_report(tmp_path: Path, spec: str) -> None:
    doc = load(write(tmp_path, "bundle.json", json.dumps(stix_bundle(spec), indent=1)))
    assert doc.media_type == "stix"
    assert doc.title == "APT99 STIX report"
    assert doc.metadata["spec_version"] == spec
    got = sentence_texts(doc)
    assert got[:3] == [
        "APT99 STIX report",
        "APT99 used spearphishing against utilities.",
        "It then exfiltrated data.",
    ]
    for expected in (
        "Technique: Spearphishing Attachment (T1566.001)",
        "Adversaries may send emails with a malicious attachment.",
        "Malware: EvilLoader",
        "EvilLoader uses Spearphishing Attachment.",
        "Indicator: C2 domain",
    ):
        assert expected in got
    assert "NotInReport" not in doc.text


def test_stix_detected_without_json_extension(tmp_path: Path) -> None:
    assert load(write(tmp_path, "feed.txt", json.dumps(stix_bundle()))).media_type == "stix"


# --- plain text, stdin, identity ----------------------------------------------------------------


def test_text_report_identity_and_title(tmp_path: Path) -> None:
    raw = "\n\n  Incident summary  \nThe actor used RDP. It deployed ransomware.\n".encode("utf-16")
    path = write(tmp_path, "summary.txt", raw)
    doc = load(path)
    assert doc.media_type == "text"
    assert doc.title == "Incident summary"
    assert doc.source == str(path)
    assert doc.sha256 == hashlib.sha256(raw).hexdigest()
    assert doc.metadata["bytes"] == len(raw)
    assert sentence_texts(doc) == ["Incident summary", "The actor used RDP.", "It deployed ransomware."]


def test_stdin_bytes(tmp_path: Path) -> None:
    doc = load("-", data=b"The actor used RDP.\n")
    assert doc.source == "-" and doc.media_type == "text" and doc.title == "The actor used RDP."
    with pytest.raises(ValueError):
        load("-")


def test_expand_sources(tmp_path: Path) -> None:
    for name in (
        "b.md",
        "a.pdf",
        "sub/c.html",
        "sub/deeper/d.txt",
        ".hidden.txt",
        ".git/config",
        "sub/.x/e.txt",
    ):
        path = tmp_path / "reports" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    single = write(tmp_path, "single.txt", "x")
    root = tmp_path / "reports"
    assert expand_sources([str(single), str(root), "-"]) == [
        str(single),
        str(root / "a.pdf"),
        str(root / "b.md"),
        str(root / "sub" / "c.html"),
        str(root / "sub" / "deeper" / "d.txt"),
        "-",
    ]
    with pytest.raises(InputError, match="no such file") as raised:
        expand_sources([str(single), str(tmp_path / "nope.pdf")])
    assert raised.value.source == str(tmp_path / "nope.pdf")


def test_from_text_builds_a_document_without_readers() -> None:
    import hashlib

    from ttpmap.ingest import from_text

    text = "The actor ran whoami. Then it used net user /domain to list accounts."
    doc = from_text(text, source="corpus:1")
    assert (doc.source, doc.title, doc.media_type) == ("corpus:1", "corpus:1", "text")
    assert doc.sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert [text[s.start : s.end] for s in doc.sentences] == [s.text for s in doc.sentences]
    assert len(doc.sentences) == 2
