"""archive_svc settings (prefix ``DOCFLOW_``): object storage and the upload limit.

With no ``DOCFLOW_S3_ENDPOINT`` the dev run and the tests start moto's S3
server as a stand-in (``services.storage.stand_in``). Placeholder S3 keys are
refused in prod (``S3Settings``).
"""

from __future__ import annotations

from services.config import ServiceSettings
from services.storage import S3Settings


class Settings(ServiceSettings, S3Settings):
    #: The largest file the archive accepts (the gateway enforces it while streaming).
    max_upload_bytes: int = 50 * 1024 * 1024
