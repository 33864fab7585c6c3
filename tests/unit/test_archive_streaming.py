"""Upload plumbing without I/O: content sniffing, the counting reader, the form stream."""

from __future__ import annotations

import asyncio
import hashlib
import io
import zipfile
from collections.abc import AsyncIterator

import pytest

from gateway.routers.files import FormStream, content_disposition
from services import storage
from services.errors import InvalidInput, TooLarge


def office_file(first_part: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(first_part, "<x/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", storage.PDF),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", storage.PNG),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", storage.JPEG),
        (office_file("word/document.xml"), storage.DOCX),
        (office_file("xl/workbook.xml"), storage.XLSX),
        (office_file("data.csv"), storage.ZIP),
        ("Договор поставки № 15\r\n".encode(), storage.TEXT),
        (b"plain ascii\tline\n", storage.TEXT),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00", storage.OLE),
        (b"MZ\x90\x00\x03\x00\x00\x00", storage.UNKNOWN),
        (b"", storage.UNKNOWN),
        ("не utf-8".encode("cp1251"), storage.UNKNOWN),
    ],
)
def test_the_first_bytes_tell_the_type(head: bytes, expected: str) -> None:
    assert storage.sniff_content_type(head) == expected


def test_text_cut_inside_a_character_is_still_text() -> None:
    text = ("я" * 10).encode()
    assert storage.sniff_content_type(text[:-1]) == storage.TEXT


def chunks_of(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_the_reader_counts_hashes_and_replays_what_was_peeked() -> None:
    data = bytes(range(256)) * 1000
    pieces = iter(chunks_of(data, 999))
    reader = storage.LimitedDigestReader(lambda: next(pieces, b""), limit=len(data))
    assert reader.peek(10) == data[:10]
    out = bytearray()
    while part := reader.read(4096):
        out += part
    assert bytes(out) == data
    assert reader.size == len(data)
    assert reader.sha256 == hashlib.sha256(data).hexdigest()


def test_the_reader_refuses_a_byte_over_the_limit() -> None:
    pieces = iter(chunks_of(b"x" * 101, 10))
    reader = storage.LimitedDigestReader(lambda: next(pieces, b""), limit=100)
    with pytest.raises(TooLarge):
        while reader.read(7):
            pass


def test_the_reader_never_holds_more_than_asked_for() -> None:
    pulled = 0

    def source() -> bytes:
        nonlocal pulled
        pulled += 1
        return b"y" * 1000

    reader = storage.LimitedDigestReader(source, limit=10**9)
    reader.read(5000)
    assert pulled == 5  # nothing read ahead beyond the part minio asked for


# --- the form stream ---------------------------------------------------------------------


BOUNDARY = b"----docflowtest"


def form(*parts: tuple[str, str | None, bytes]) -> bytes:
    body = bytearray()
    for name, filename, value in parts:
        body += b"--" + BOUNDARY + b"\r\n"
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        body += f"Content-Disposition: {disposition}\r\n".encode()
        if filename is not None:
            body += b"Content-Type: image/png\r\n"
        body += b"\r\n" + value + b"\r\n"
    body += b"--" + BOUNDARY + b"--\r\n"
    return bytes(body)


async def arrive(data: bytes, size: int) -> AsyncIterator[bytes]:
    for piece in chunks_of(data, size):
        yield piece


async def read_form(body: bytes, size: int) -> tuple[dict[str, str], str, bytes]:
    stream = FormStream(arrive(body, size), BOUNDARY)
    fields: dict[str, str] = {}
    name, content = "", bytearray()
    while (event := await stream.next())[0] != "end":
        if event[0] == "field":
            fields[event[1]] = event[2]
        elif event[0] == "file":
            name = event[2]
            async for piece in stream.file_data():
                content += piece
    return fields, name, bytes(content)


@pytest.mark.parametrize("chunk", [1, 7, 64, 65536])
def test_the_form_is_parsed_as_it_arrives(chunk: int) -> None:
    payload = b"%PDF-1.4\r\n--not-a-boundary\r\n" + bytes(range(256)) * 50
    body = form(
        ("counterparty_id", None, b"0b6f3c1e-5d7a-4c55-9d8e-2f1f0c9b7a11"),
        ("file", "Договор.pdf", payload),
        ("title", None, "Договор поставки".encode()),
    )
    fields, name, content = asyncio.run(read_form(body, chunk))
    assert content == payload
    assert name == "Договор.pdf"
    assert fields == {
        "counterparty_id": "0b6f3c1e-5d7a-4c55-9d8e-2f1f0c9b7a11",
        "title": "Договор поставки",
    }


def test_a_form_cut_short_is_refused() -> None:
    body = form(("file", "a.txt", b"hello"))[:-10]
    with pytest.raises(InvalidInput):
        asyncio.run(read_form(body, 16))


def test_an_oversized_field_is_refused() -> None:
    body = form(("title", None, b"x" * 20000), ("file", "a.txt", b"hello"))
    with pytest.raises(InvalidInput):
        asyncio.run(read_form(body, 4096))


def test_downloads_are_saved_under_the_last_name_component() -> None:
    header = content_disposition("../../etc/passwd")
    assert 'filename="passwd"' in header
    assert content_disposition("Договор №1.pdf").endswith(
        "filename*=UTF-8''%D0%94%D0%BE%D0%B3%D0%BE%D0%B2%D0%BE%D1%80%20%E2%84%961.pdf"
    )
