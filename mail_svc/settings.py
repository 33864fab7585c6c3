"""mail_svc settings (prefix ``DOCFLOW_``).

Letters are sent through the company's SMTP relay (``DOCFLOW_SMTP_*``, see
services/smtp.py) with their files read from the archive's bucket
(``DOCFLOW_S3_*``); filing copies objects inside that bucket server-side. The
archive still decides every read and write: mail_svc touches only the keys
archive_svc's ``open_file`` and ``begin_upload`` hand out.
A company changes the letter routes without code: ``DOCFLOW_MAIL_ROUTES_DIR``
points at route YAML files that replace the shipped ones by id.
"""

from __future__ import annotations

from pydantic import Field

from services.config import ServiceSettings
from services.storage import S3Settings


class Settings(ServiceSettings, S3Settings):
    #: Extra or replacement route files (``*.yaml``); empty: the shipped routes only.
    mail_routes_dir: str = ""
    #: Journal numbers look like ``ВХ-2026-0001`` and ``ИСХ-2026-0001``.
    mail_incoming_prefix: str = "ВХ"
    mail_outgoing_prefix: str = "ИСХ"
    #: A reply started from an incoming letter is checked for a reaction this many
    #: calendar days after the incoming letter's control date.
    mail_reply_control_days: int = Field(default=14, ge=1, le=365)
    #: Sending and filing: attempts before a job is given up (and shown as failed).
    mail_job_attempts: int = Field(default=12, ge=1, le=100)
    #: A claimed job whose worker died is taken again after this many seconds.
    mail_job_lease_seconds: int = Field(default=300, ge=10)
