"""archive_svc entrypoints: files in object storage, folders, search, rights.

The foundation gives it health, metrics, the outbox and its database; its
business entrypoints arrive with its own issue.
"""

from services.base import ServiceBase


class ArchiveService(ServiceBase):
    name = "archive"
