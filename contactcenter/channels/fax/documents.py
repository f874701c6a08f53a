"""Fax documents (pure, CPU-bound): which attachments are faxes, how many pages, page previews.

A fax gateway mails the pages as a PDF or a (multi-page, usually 1-bit) TIFF. The kind is told by
the bytes themselves, not by the declared type, since gateways also send
`application/octet-stream`. Pages are counted with pypdf or Pillow and drawn as PNG previews for
the console with pdfium or Pillow. pdfium is not thread-safe: every reading runs on one worker
thread (`read_document_async`).
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum

import pypdf
import pypdfium2
from PIL import Image, ImageSequence

PREVIEW_WIDTH = 850  # pixels: a page readable beside the conversation, ~100 dpi for A4/Letter
MAX_PREVIEWS = 50  # pages drawn per document; the count covers them all
MAX_PAGE_PIXELS = 40_000_000  # a fax page at 400 dpi is ~15 Mpx; larger is not a fax

_OBJECT = re.compile(r"\s*<[^>]* object at 0x[0-9a-f]+>")
# pypdf logs what it repairs; a document it cannot read is reported as the fax's problem.
logging.getLogger("pypdf").setLevel(logging.ERROR)
_reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fax-pages")


class DocumentKind(StrEnum):
    PDF = "pdf"
    TIFF = "tiff"


@dataclass(frozen=True, slots=True)
class Preview:
    png: bytes
    width: int
    height: int


@dataclass(slots=True)
class Document:
    """A fax document as read: its pages, or the problem that kept it from being read."""

    kind: DocumentKind
    pages: int = 0
    previews: list[Preview] = field(default_factory=list)
    problem: str | None = None


def kind_of(data: bytes, content_type: str = "", filename: str = "") -> DocumentKind | None:
    """PDF or TIFF by their magic bytes; otherwise by what the mail declares (so that a broken
    PDF is still read, and fails as a PDF with a reason)."""
    if data[:5] == b"%PDF-":
        return DocumentKind.PDF
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return DocumentKind.TIFF
    declared = f"{content_type.lower()} {filename.lower()}"
    if "pdf" in declared:
        return DocumentKind.PDF
    if "tif" in declared:
        return DocumentKind.TIFF
    return None


def read_document(data: bytes, kind: DocumentKind) -> Document:
    """Count and draw the pages; a document that cannot be read comes back with its problem."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the libraries warn about what they repair
            return _read_pdf(data) if kind is DocumentKind.PDF else _read_tiff(data)
    except Exception as exc:  # every library's own errors: the reason, never a crash
        name = "PDF" if kind is DocumentKind.PDF else "TIFF"
        detail = _OBJECT.sub("", str(exc)).strip().split("\n")[0][:200] or type(exc).__name__
        return Document(kind, problem=f"not a readable {name} ({detail})")


async def read_document_async(data: bytes, kind: DocumentKind) -> Document:
    return await asyncio.get_running_loop().run_in_executor(_reader, read_document, data, kind)


def _read_pdf(data: bytes) -> Document:
    pages = len(pypdf.PdfReader(io.BytesIO(data), strict=False).pages)
    if pages == 0:
        return Document(DocumentKind.PDF, problem="a PDF without pages")
    previews = []
    pdf = pypdfium2.PdfDocument(data)
    try:
        for index in range(min(pages, len(pdf), MAX_PREVIEWS)):
            page = pdf[index]
            width_points = page.get_width()
            bitmap = page.render(scale=PREVIEW_WIDTH / width_points, grayscale=True)
            previews.append(_png(bitmap.to_pil()))
            page.close()
    finally:
        pdf.close()
    return Document(DocumentKind.PDF, pages, previews)


def _read_tiff(data: bytes) -> Document:
    previews = []
    pages = 0
    with Image.open(io.BytesIO(data)) as image:
        if image.format != "TIFF":
            return Document(DocumentKind.TIFF, problem=f"a {image.format} image, not a TIFF")
        for frame in ImageSequence.Iterator(image):
            pages += 1
            if frame.width * frame.height > MAX_PAGE_PIXELS:
                return Document(DocumentKind.TIFF, problem=f"page {pages} is too large")
            if pages <= MAX_PREVIEWS:
                previews.append(_png(_fax_page(frame)))
    return Document(DocumentKind.TIFF, pages, previews)


def _fax_page(frame: Image.Image) -> Image.Image:
    """A fax page at preview width. Fine-mode faxes are 204 × 196 dpi and standard-mode ones
    204 × 98: the height is stretched by the resolution's ratio so that the page looks right."""
    page = frame.convert("L")
    dpi = frame.info.get("dpi") or (1, 1)
    x_dpi, y_dpi = (float(dpi[0]) or 1.0), (float(dpi[1]) or 1.0)
    height = page.height * (x_dpi / y_dpi) * PREVIEW_WIDTH / page.width
    return page.resize((PREVIEW_WIDTH, max(1, round(height))), Image.Resampling.LANCZOS)


def _png(image: Image.Image) -> Preview:
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return Preview(out.getvalue(), image.width, image.height)
