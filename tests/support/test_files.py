"""Which attachments a ticket takes: the bytes decide, not the name or the browser."""

from __future__ import annotations

import pytest

from plugins.support.files import FileRefused, Upload, check, clean_name

MB = 1_000_000
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(autouse=True)
def _request(app):
    with app.test_request_context():
        yield


@pytest.mark.parametrize(("name", "data", "found"), [
    ("facture.pdf", b"%PDF-1.7\n...", "application/pdf"),
    ("photo.PNG", PNG, "image/png"),
    ("photo", b"\xff\xd8\xff\xe0JFIF", "image/jpeg"),  # no suffix: the bytes tell
    ("journal.log", "Erreur 0x80 à l'impression\n".encode(), "text/plain"),
])
def test_documents_images_and_text_are_taken_with_the_type_their_bytes_are(name, data,
                                                                          found):
    taken = check(Upload(name, "application/octet-stream", data), 10 * MB)
    assert (taken.content_type, taken.data) == (found, data)


@pytest.mark.parametrize(("name", "data"), [
    ("facture.pdf", b"MZ\x90\x00\x03"),  # a Windows program named like an invoice
    ("driver", b"\x7fELF\x02\x01"),
    ("page.html", b"<html><script>alert(1)</script>"),
    ("notes.txt", b"<!DOCTYPE html><html>"),  # a page in disguise
    ("logo.svg", b"<svg onload=alert(1)>"),
    ("invoice.pdf.exe", b"%PDF-1.4"),
    ("run.sh", b"#!/bin/sh\nrm -rf /"),
])
def test_programs_scripts_and_pages_are_refused_by_name_and_reason(name, data):
    with pytest.raises(FileRefused, match=name.replace(".", r"\.")):
        check(Upload(name, "application/pdf", data), 10 * MB)


def test_an_archive_or_unknown_binary_is_refused_naming_what_is_taken():
    with pytest.raises(FileRefused, match="PDF"):
        check(Upload("logs.zip", "application/zip", b"PK\x03\x04\x00\x00"), 10 * MB)


def test_a_file_over_the_limit_says_its_size_and_the_limit():
    with pytest.raises(FileRefused, match=r"big\.pdf.*2\.5.*2"):
        check(Upload("big.pdf", "application/pdf", b"%PDF-" + b"0" * (2_500_000 - 5)),
              2 * MB)
    with pytest.raises(FileRefused, match="empty"):
        check(Upload("empty.pdf", "application/pdf", b""), MB)


def test_names_lose_their_folders_and_control_characters():
    assert clean_name("C:\\Users\\lea\\Desktop\\scan 1.pdf") == "scan 1.pdf"
    assert clean_name("../../etc/passwd") == "passwd"
    assert clean_name("bad\r\nname.pdf") == "badname.pdf"
    assert clean_name("") == "file"
    assert len(clean_name("a" * 300 + ".pdf")) <= 200 and clean_name("a" * 300 + ".pdf"
                                                                     ).endswith(".pdf")
