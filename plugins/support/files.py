"""Which files a ticket takes: photos of a broken part, an invoice, a log — nothing that runs.

The type is read from the file's first bytes, never from its name or the browser's claim: a
``facture.pdf`` that starts with ``MZ`` is a Windows program, refused. What is taken is
stored with the type found, and served back as a download (``attachment``, ``nosniff``), so
even a text file is never rendered by the browser as a page of this shop. HTML and SVG are
refused outright: both can carry script.

Kept deliberately small (PDF, common images, plain text): archives could hide anything, and
office documents with macros are the commonest way in; a customer can always describe or
photograph the problem.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import format_decimal

from comptoir.toolkit import plugin_translations
from plugins.support.errors import TicketError

translations = plugin_translations("plugins.support")
_ = translations.gettext

#: Names never taken, whatever the content looks like (Windows would run them on a click).
DANGEROUS_SUFFIXES = frozenset({
    "exe", "com", "bat", "cmd", "scr", "pif", "msi", "msp", "dll", "cpl", "jar", "js", "jse",
    "vbs", "vbe", "wsf", "wsh", "ps1", "psm1", "hta", "lnk", "reg", "sh", "app", "html",
    "htm", "xhtml", "svg", "svgz", "docm", "xlsm", "pptm", "iso", "img",
})
#: How many files one message may carry.
MAX_FILES = 5
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class FileRefused(TicketError):
    """A file that is not taken; the message names the file and the reason."""


@dataclass(frozen=True)
class Upload:
    """A file as received: its name, the type the sender claimed, its bytes."""

    filename: str
    content_type: str
    data: bytes
    #: The file's whole size, when only its beginning was read (:func:`read_uploads`).
    size: int | None = None


def read_uploads(storages: Iterable[Any], max_bytes: int) -> list[Upload]:
    """The files of a form (werkzeug ``FileStorage``; empty inputs skipped) as
    :class:`Upload`, never reading more than :func:`check` needs to judge them: at most one
    file past :data:`MAX_FILES` (so "too many files" is still said), and of each at most
    one byte past ``max_bytes`` (so "too large" is still said, with the limit as its size).
    """
    found: list[Upload] = []
    for storage in storages:
        if not storage or not storage.filename:
            continue
        if len(found) > MAX_FILES:
            break
        data = storage.read(max_bytes + 1)
        found.append(Upload(storage.filename, storage.mimetype or "", data,
                            _whole_size(storage) if len(data) > max_bytes else None))
    return found


def _whole_size(storage: Any) -> int | None:
    """How large a file only partly read is (werkzeug spools uploads to a seekable file)."""
    try:
        return int(storage.stream.seek(0, 2))
    except Exception:  # not seekable: the size is not known
        return None


def accepted_types() -> str:
    """What to put in a file input's ``accept`` attribute."""
    return ".pdf,.png,.jpg,.jpeg,.gif,.webp,.txt,.log,.csv,application/pdf,image/*,text/plain"


def _sniff(data: bytes) -> str | None:
    """The type the bytes are, among those taken; ``None`` for anything else."""
    head = data[:16]
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if _is_text(data):
        return "text/plain"
    return None


def _is_text(data: bytes) -> bool:
    if b"\x00" in data[:8192]:
        return False
    try:
        text = data[:65536].decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < 65536 - 4:  # not merely a character cut at the sample's end
            return False
        text = data[:exc.start].decode("utf-8")
    start = text.lstrip()[:200].lower()
    # Plain text, not a page or a script in disguise.
    return not start.startswith(("<!doctype", "<html", "<svg", "<?xml", "<script", "#!"))


def clean_name(filename: str) -> str:
    """The file's base name, on one line, at most 200 characters (``file`` if nothing)."""
    name = unicodedata.normalize("NFC", filename or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _CONTROL.sub("", name).strip().strip(".") or "file"
    if len(name) > 200:
        stem, dot, suffix = name.rpartition(".")
        name = (stem[:190] + dot + suffix[:9]) if dot else name[:200]
    return name


def check(upload: Upload, max_bytes: int) -> Upload:
    """``upload`` with a clean name and the type its bytes are, if it may be kept.

    :raises FileRefused: too large, empty, a dangerous name, or content of a type not taken.
    """
    name = clean_name(upload.filename)
    if len(upload.data) > max_bytes:
        raise FileRefused(_("%(file)s is too large (%(size)s MB; at most %(max)s MB).",
                            file=name, size=_megabytes(max(upload.size or 0,
                                                           len(upload.data))),
                            max=_megabytes(max_bytes)))
    if not upload.data:
        raise FileRefused(_("%(file)s is empty.", file=name))
    suffixes = {part.lower() for part in name.split(".")[1:]}
    if suffixes & DANGEROUS_SUFFIXES or upload.data[:2] == b"MZ" or upload.data[:4] == (
            b"\x7fELF"):
        raise FileRefused(_("%(file)s is refused: programs, scripts and web pages could harm "
                            "whoever opens them.", file=name))
    found = _sniff(upload.data)
    if found is None:
        raise FileRefused(_("%(file)s is refused: send a PDF, an image (PNG, JPEG, GIF, "
                            "WebP) or a text file.", file=name))
    return Upload(name, found, upload.data)


def _megabytes(size: int) -> str:
    """Megabytes the shop's way (``2,5`` in France)."""
    return format_decimal(size / 1_000_000, format="#,##0.#")
