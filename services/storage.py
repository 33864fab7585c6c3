"""Object storage (MinIO / any S3 API) through the ``minio`` client, shared by
archive_svc and the gateway.

Files never ride on AMQP: the gateway streams a request body straight into
the bucket (``StreamingPut``) and streams objects back out; archive_svc only
authorises, allocates keys and keeps the metadata. What both sides need lives
here: the settings, the client, bucket set-up, content sniffing from the
first bytes, and the reader that counts, hashes and enforces the size limit
while minio pulls the bytes.

Where no ``DOCFLOW_S3_ENDPOINT`` is configured, the dev runner and the tests
start moto's S3 server as a stand-in (``stand_in`` below, registered in
``services.standins``): a real S3 API over HTTP, not an in-process mock.
"""

from __future__ import annotations

import hashlib
import logging
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from minio import Minio
from minio.commonconfig import ENABLED
from minio.error import S3Error
from minio.versioningconfig import VersioningConfig
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.config import PLACEHOLDER_SECRETS
from services.errors import TooLarge

if TYPE_CHECKING:
    from services.standins import StandIn

log = logging.getLogger(__name__)

#: Multipart part size for streamed puts: minio holds one part in memory at a time.
PART_SIZE = 5 * 1024 * 1024
#: How many leading bytes the content sniffer looks at.
SNIFF_BYTES = 8192
#: Access keys of the local stand-in (moto accepts any); refused in production.
STAND_IN_ACCESS_KEY = "docflow-standin"
STAND_IN_SECRET_KEY = "docflow-standin-secret"


class S3Settings(BaseSettings):
    """``DOCFLOW_S3_*``: mixed into the settings of archive_svc and the gateway."""

    model_config = SettingsConfigDict(env_prefix="DOCFLOW_", extra="ignore")

    #: host:port of MinIO / the S3 server (no scheme).
    s3_endpoint: str = "127.0.0.1:9000"
    s3_access_key: str = "minioadmin"
    s3_secret_key: str = "minioadmin"
    s3_bucket: str = "docflow-archive"
    s3_secure: bool = False
    #: A fixed region spares the client a bucket-location lookup (and presigning offline).
    s3_region: str = "us-east-1"
    #: host:port clients use for presigned URLs when it differs from the internal endpoint.
    s3_public_endpoint: str | None = None
    presigned_url_seconds: int = Field(default=300, ge=10, le=7 * 24 * 3600)

    @model_validator(mode="after")
    def _real_keys_in_prod(self) -> S3Settings:
        # ``environment`` comes from CommonSettings, which every user mixes in.
        if getattr(self, "environment", "dev") == "prod" and self.s3_secret_key in (
            PLACEHOLDER_SECRETS | {STAND_IN_SECRET_KEY}
        ):
            raise ValueError("DOCFLOW_S3_SECRET_KEY is a placeholder")
        return self


def make_client(settings: S3Settings, public: bool = False) -> Minio:
    endpoint = (settings.s3_public_endpoint if public else None) or settings.s3_endpoint
    return Minio(
        endpoint,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key,
        secure=settings.s3_secure,
        region=settings.s3_region,
    )


def ensure_bucket(client: Minio, bucket: str) -> None:
    """Create the bucket when missing and switch versioning on where the server supports it."""
    try:
        if not client.bucket_exists(bucket):
            client.make_bucket(bucket)
    except S3Error as exc:  # a concurrent creator won the race
        if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    try:
        client.set_bucket_versioning(bucket, VersioningConfig(ENABLED))
    except S3Error as exc:  # e.g. a single-disk MinIO: our own version rows still hold
        log.warning("bucket versioning not available on %s: %s", bucket, exc.code)


# --- content sniffing ----------------------------------------------------------

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
ZIP = "application/zip"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
OLE = "application/x-ole-storage"
TEXT = "text/plain; charset=utf-8"
UNKNOWN = "application/octet-stream"

_TEXT_CONTROLS = set(b"\t\n\r\f\v")


def sniff_content_type(head: bytes) -> str:
    """The content type told by the first bytes; the client's claim is never used."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        # Office Open XML is a zip whose first entries name the part folders.
        if b"word/" in head:
            return DOCX
        if b"xl/" in head:
            return XLSX
        if b"ppt/" in head:
            return PPTX
        return ZIP
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return OLE  # legacy .doc / .xls
    if head and _is_utf8_text(head):
        return TEXT
    return UNKNOWN


def _is_utf8_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The sniff window may cut a multi-byte character in two.
        if exc.start < len(head) - 3 or exc.reason != "unexpected end of data":
            return False
        text = head[: exc.start].decode("utf-8")
    return all(ch.isprintable() or ord(ch) in _TEXT_CONTROLS for ch in text)


# --- streaming put ---------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    size: int
    sha256: str
    content_type: str
    etag: str | None
    version_id: str | None


class LimitedDigestReader:
    """A file-like ``read(n)`` over a chunk source: counts, hashes, refuses past ``limit``.

    ``next_chunk`` returns the next piece of the body (``b""`` at the end); it
    may block (the gateway bridges it to its event loop). ``peek`` reads ahead
    for sniffing without consuming.
    """

    def __init__(self, next_chunk: Callable[[], bytes], limit: int) -> None:
        self._next = next_chunk
        self._limit = limit
        self._pending = bytearray()
        self._digest = hashlib.sha256()
        self.size = 0
        self._done = False

    def _count(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self._limit:
            raise TooLarge(
                f"the file is larger than the limit of {self._limit} bytes",
                [{"loc": ["file"], "msg": f"over {self._limit} bytes"}],
            )
        self._digest.update(data)

    def _fill(self, size: int) -> None:
        while not self._done and (size < 0 or len(self._pending) < size):
            chunk = self._next()
            if not chunk:
                self._done = True
                break
            self._count(chunk)
            self._pending += chunk

    def peek(self, size: int) -> bytes:
        """Up to ``size`` leading bytes, left in place for the next ``read``."""
        self._fill(size)
        return bytes(self._pending[:size])

    def read(self, size: int = -1) -> bytes:
        self._fill(size)
        if size < 0 or size >= len(self._pending):
            out = bytes(self._pending)
            self._pending.clear()
        else:
            out = bytes(self._pending[:size])
            del self._pending[:size]
        return out

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()


def put_stream(
    client: Minio,
    bucket: str,
    key: str,
    next_chunk: Callable[[], bytes],
    limit: int,
    part_size: int = PART_SIZE,
) -> Stored:
    """Stream a body of unknown length into ``bucket/key`` (blocking; run it in a thread).

    The first bytes decide the content type; everything is counted and hashed
    as minio pulls it, one part at a time. Over ``limit``: ``TooLarge`` is
    raised, minio aborts its multipart upload, and any object is removed.
    """
    reader = LimitedDigestReader(next_chunk, limit)
    try:
        content_type = sniff_content_type(reader.peek(SNIFF_BYTES))
        result = client.put_object(
            bucket,
            key,
            cast(BinaryIO, reader),
            length=-1,
            part_size=part_size,
            content_type=content_type,
        )
    except BaseException:
        remove_quietly(client, bucket, key)
        raise
    return Stored(
        size=reader.size,
        sha256=reader.sha256,
        content_type=content_type,
        etag=result.etag,
        version_id=result.version_id,
    )


def remove_quietly(client: Minio, bucket: str, key: str) -> None:
    """Remove every version of ``key`` (a refused upload leaves nothing behind)."""
    try:
        versions = list(client.list_objects(bucket, prefix=key, include_version=True))
        for obj in versions:
            if obj.object_name == key:
                client.remove_object(bucket, key, version_id=obj.version_id)
        if not versions:
            client.remove_object(bucket, key)
    except Exception:  # cleanup must never hide the original error
        log.warning("could not remove %s/%s", bucket, key, exc_info=True)


def object_exists(client: Minio, bucket: str, key: str) -> bool:
    try:
        client.stat_object(bucket, key)
    except S3Error as exc:
        if exc.code in ("NoSuchKey", "NoSuchObject", "NotFound", "NoSuchVersion"):
            return False
        raise
    return True


def stand_in(env: dict[str, str]) -> StandIn | None:
    """``services.standins`` factory: moto's S3 server unless a real endpoint is configured."""
    from services.standins import StandIn

    if env.get("DOCFLOW_S3_ENDPOINT"):
        return None
    return StandIn(
        name="s3",
        command=[sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", "{port}"],
        env={
            "DOCFLOW_S3_ENDPOINT": "127.0.0.1:{port}",
            "DOCFLOW_S3_ACCESS_KEY": STAND_IN_ACCESS_KEY,
            "DOCFLOW_S3_SECRET_KEY": STAND_IN_SECRET_KEY,
            "DOCFLOW_S3_SECURE": "false",
        },
    )


def object_stream(response: Any, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
    """Chunks of a ``get_object`` response; the connection is released at the end."""
    try:
        yield from response.stream(chunk_size)
    finally:
        response.close()
        response.release_conn()
