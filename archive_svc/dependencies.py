"""nameko dependencies of archive_svc: its settings and the object store."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from minio import Minio
from minio.error import S3Error
from nameko.extensions import DependencyProvider

from archive_svc.settings import Settings
from services import storage

log = logging.getLogger(__name__)


def settings_of(container: Any) -> Settings:
    found = container.config.get("SETTINGS")
    if isinstance(found, Settings):
        return found
    return Settings(service_name="archive_svc")


@dataclass(frozen=True)
class StoredObject:
    size: int
    version_id: str | None


class ObjectStore:
    """The bucket as the service uses it: check what the gateway put, remove leftovers."""

    def __init__(self, client: Minio, bucket: str, max_upload_bytes: int) -> None:
        self.client = client
        self.bucket = bucket
        self.max_upload_bytes = max_upload_bytes

    def stat(self, key: str) -> StoredObject | None:
        try:
            found = self.client.stat_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                return None
            raise
        return StoredObject(size=int(found.size or 0), version_id=found.version_id)

    def remove(self, key: str) -> None:
        storage.remove_quietly(self.client, self.bucket, key)

    def healthy(self) -> bool:
        return bool(self.client.bucket_exists(self.bucket))


class ObjectStoreProvider(DependencyProvider):  # type: ignore[misc]
    """Creates the bucket (versioning on) when the service starts; one client for all workers
    (minio's client is thread-safe: a urllib3 pool underneath)."""

    def setup(self) -> None:
        settings = settings_of(self.container)
        client = storage.make_client(settings)
        deadline = time.monotonic() + 30
        while True:
            try:
                storage.ensure_bucket(client, settings.s3_bucket)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                log.warning("object storage not answering yet; retrying", exc_info=True)
                time.sleep(1)
        self.store = ObjectStore(client, settings.s3_bucket, settings.max_upload_bytes)

    def get_dependency(self, worker_ctx: Any) -> ObjectStore:
        return self.store
