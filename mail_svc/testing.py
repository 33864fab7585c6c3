"""Test data for letters: request bodies, and a file in the archive to attach.

Used by the integration and e2e tests; nothing here runs in production.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import httpx


def incoming(
    legal_entity_id: str,
    counterparty_id: str,
    responsible_id: str,
    scan_file_id: str,
    **overrides: Any,
) -> dict[str, Any]:
    today = date.today()
    body = {
        "legal_entity_id": legal_entity_id,
        "counterparty_id": counterparty_id,
        "subject": "Уведомление об изменении банковских реквизитов",
        "document_number": f"{uuid.uuid4().hex[:6]}/11",
        "document_date": (today - timedelta(days=2)).isoformat(),
        "received_date": today.isoformat(),
        "control_date": (today + timedelta(days=10)).isoformat(),
        "responsible_id": responsible_id,
        "scan_file_id": scan_file_id,
    }
    return body | overrides


def outgoing(
    legal_entity_id: str, counterparty_id: str, letter_file_id: str, **overrides: Any
) -> dict[str, Any]:
    body = {
        "legal_entity_id": legal_entity_id,
        "counterparty_id": counterparty_id,
        "subject": "О продлении договора аренды",
        "control_date": (date.today() + timedelta(days=10)).isoformat(),
        "letter_file_id": letter_file_id,
    }
    return body | overrides


def upload(
    gateway: httpx.Client,
    headers: dict[str, str],
    name: str = "scan.pdf",
    content: bytes | None = None,
) -> dict[str, Any]:
    """A file in the uploader's department folder, through the gateway like a person would."""
    body = content if content is not None else b"%PDF-1.7 " + uuid.uuid4().bytes
    answer = gateway.post(
        "/api/v1/files", headers=headers, files={"file": (name, body, "application/pdf")}
    )
    assert answer.status_code == 201, answer.text
    found: dict[str, Any] = answer.json()
    return found
