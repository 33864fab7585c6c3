"""Sending e-mail over SMTP, and the local SMTP server the dev run and the tests use.

``send`` speaks plain SMTP (STARTTLS and login when configured) through the
standard library, so the same code talks to the company's relay in production
and to the stand-in here. The stand-in is a real SMTP server (aiosmtpd) that
delivers nothing: it writes every message it accepts as an ``.eml`` file into
a spool directory, where tests and developers read it back.

Settings (environment): ``DOCFLOW_SMTP_HOST``, ``DOCFLOW_SMTP_PORT``,
``DOCFLOW_SMTP_USERNAME``, ``DOCFLOW_SMTP_PASSWORD``, ``DOCFLOW_SMTP_STARTTLS``,
``DOCFLOW_SMTP_SENDER``. Where no host is configured, the stand-in is started
and ``DOCFLOW_SMTP_STUB_SPOOL`` names its spool.

Run the stand-in by hand: ``python -m services.smtp --port 2525 --spool var/mail``.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import smtplib
import sys
import time
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from services.standins import StandIn

ROOT = Path(__file__).resolve().parent.parent


class SmtpSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DOCFLOW_SMTP_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 25
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0
    #: ``DOCFLOW_SMTP_SENDER``: the From address.
    sender: str = "docflow@localhost"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class Mail:
    to: list[str]
    subject: str
    text: str
    html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    #: Set to make the message id stable for one business event (retries keep it).
    message_id: str | None = None


def build_message(mail: Mail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(mail.to)
    message["Subject"] = mail.subject
    message["Message-ID"] = mail.message_id or f"<{uuid.uuid4().hex}@docflow>"
    message.set_content(mail.text)
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html")
    for item in mail.attachments:
        maintype, _, subtype = item.content_type.partition("/")
        message.add_attachment(
            item.content,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=item.filename,
        )
    return message


def send(mail: Mail, settings: SmtpSettings | None = None) -> str:
    """Hand the message to the SMTP server; returns its Message-ID.

    Raises ``smtplib.SMTPException`` or ``OSError`` when the server refuses or
    cannot be reached: callers retry (the message id stays the same).
    """
    if not mail.to:
        raise ValueError("an e-mail needs at least one recipient")
    settings = settings or SmtpSettings()
    message = build_message(mail, settings.sender)
    with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as client:
        if settings.starttls:
            client.starttls()
        if settings.username:
            client.login(settings.username, settings.password or "")
        client.send_message(message)
    return str(message["Message-ID"])


# --- the stand-in ---------------------------------------------------------------


def read_spool(spool: str | Path) -> list[EmailMessage]:
    """Every message the stand-in accepted, oldest first."""
    directory = Path(spool)
    if not directory.is_dir():
        return []
    found = []
    for path in sorted(directory.glob("*.eml")):
        with path.open("rb") as handle:
            parsed = email.message_from_binary_file(handle, policy=email.policy.default)
        found.append(parsed)
    return found


class SpoolHandler:
    """aiosmtpd handler: each accepted message becomes one file, written atomically."""

    def __init__(self, spool: Path) -> None:
        self.spool = spool
        spool.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        content = getattr(envelope, "original_content", None) or getattr(envelope, "content", b"")
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
        partial = self.spool / f"{name}.part"
        partial.write_bytes(content if isinstance(content, bytes) else str(content).encode())
        partial.rename(self.spool / f"{name}.eml")
        return "250 Message accepted for delivery"


def stand_in(env: dict[str, str]) -> StandIn | None:
    """``services.standins`` factory: the local SMTP server unless a real one is configured."""
    from services.standins import StandIn

    if env.get("DOCFLOW_SMTP_HOST"):
        return None
    spool = str(ROOT / "var" / "smtp-spool" / "{port}")
    return StandIn(
        name="smtp",
        command=[sys.executable, "-m", "services.smtp", "--port", "{port}", "--spool", spool],
        env={
            "DOCFLOW_SMTP_HOST": "127.0.0.1",
            "DOCFLOW_SMTP_PORT": "{port}",
            "DOCFLOW_SMTP_STUB_SPOOL": spool,
        },
    )


def main(argv: list[str] | None = None) -> None:
    from aiosmtpd.controller import Controller

    parser = argparse.ArgumentParser(description="Local SMTP server that spools what it accepts")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--spool", default=str(ROOT / "var" / "smtp-spool" / "dev"))
    args = parser.parse_args(argv)
    controller = Controller(SpoolHandler(Path(args.spool)), hostname=args.host, port=args.port)
    controller.start()
    print(f"SMTP stand-in on {args.host}:{args.port}, spool {args.spool}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
