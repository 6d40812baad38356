"""Generators of hostile inputs, small for tests and large for benchmarks/hostile.py (no files committed)."""

from __future__ import annotations

import io
import zipfile
import zlib

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="word/document.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
    "</Relationships>"
)
_DOC_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
)
_DOC_TAIL = "</w:body></w:document>"


def docx_paragraphs(count: int, text: str = "The actor used RDP.") -> bytes:
    """A DOCX with ``count`` short paragraphs (300k of them compress to under 1 MB)."""
    body = f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>" * count
    return _docx(_DOC_HEAD + body + _DOC_TAIL)


def docx_bomb(expanded_mb: int) -> bytes:
    """A DOCX whose document.xml inflates to about ``expanded_mb`` MB of one repeated paragraph."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        chunk = "<w:p><w:r><w:t>" + "A" * (2**20 - 40) + "</w:t></w:r></w:p>"
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            member.write(_DOC_HEAD.encode())
            for _ in range(expanded_mb):
                member.write(chunk.encode())
            member.write(_DOC_TAIL.encode())
    return buffer.getvalue()


def docx_lying_size(actual_mb: int, declared: int = 1000) -> bytes:
    """A DOCX whose document.xml inflates to ``actual_mb`` MB but declares only ``declared`` bytes."""
    paragraph = "<w:p><w:r><w:t>" + "A" * (2**20 - 40) + "</w:t></w:r></w:p>"
    data = bytearray(_docx(_DOC_HEAD + paragraph * actual_mb + _DOC_TAIL))
    name = b"word/document.xml"
    # The uncompressed size sits at byte 22 of a local header and byte 24 of a central directory entry.
    for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        pos = data.find(signature)
        while pos >= 0:
            if data[pos + name_at : pos + name_at + len(name)] == name:
                data[pos + size_at : pos + size_at + 4] = declared.to_bytes(4, "little")
            pos = data.find(signature, pos + 4)
    return bytes(data)


def _docx(document_xml: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("word/document.xml", document_xml)
    return buffer.getvalue()


def pdf_repeated_text(repeats: int, page_extra: bytes = b"") -> bytes:
    """A one-page PDF drawing the same positioned text block ``repeats`` times (slow to extract).

    ``page_extra`` goes into the page dictionary as is (e.g. a huge array).
    """
    ops = b"BT /F1 12 Tf 72 700 Td (The actor used RDP to move laterally.) Tj ET\n" * repeats
    stream = zlib.compress(ops, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R " + page_extra + b">>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def html_deep(depth: int, paragraphs: int = 200) -> bytes:
    """A page whose article sits under ``depth`` nested divs, then many paragraphs of text."""
    text = "".join(
        f"<p>Paragraph {i}: the actor used PowerShell to run a loader.</p>" for i in range(paragraphs)
    )
    return f"<html><body>{'<div>' * depth}{text}{'</div>' * depth}</body></html>".encode()


def html_repeated(count: int) -> bytes:
    """A page of ``count`` identical paragraphs (content extractors deduplicate them away)."""
    body = "<p>The actor used PowerShell to download a second-stage loader from a remote host.</p>" * count
    return f"<html><head><title>Report</title></head><body><article>{body}</article></body></html>".encode()


def html_elements(count: int) -> bytes:
    """A page of ``count`` empty spans: cheap to send, expensive to parse and walk."""
    return ("<html><body><p>The actor used RDP.</p>" + "<span></span>" * count + "</body></html>").encode()


def html_text(megabytes: int) -> bytes:
    """A page of ``megabytes`` MB of plain text lines in a few elements (cheap to send, costly to parse)."""
    line = "The actor used PowerShell to download a loader from a remote host and ran it. " * 10 + "\n"
    body = line * (megabytes * 2**20 // len(line))
    return f"<html><body><pre>{body}</pre></body></html>".encode()


def ioc_text(count: int) -> bytes:
    """Text listing ``count`` distinct indicators (IPv4 addresses, domains, URLs), about 16 bytes each."""
    lines = ["Indicators observed in the intrusion", ""]
    for i in range(count):
        a, b, c = (i >> 16) & 255, (i >> 8) & 255, i & 255
        kind = i % 3
        if kind == 0:
            lines.append(f"45.{a}.{b}.{c}")
        elif kind == 1:
            lines.append(f"h{i:x}.evil.com")
        else:
            lines.append(f"http://x{i:x}.io/a")
    return ("\n".join(lines) + "\n").encode()
