"""The letter asking a counterparty for missing statutory documents.

Rendered from Jinja2 templates (``templates/missing_documents.*.j2``) as plain
text and HTML (autoescaped: names come from outside), and as a .docx built
from the same data with python-docx, ready to print or attach to an e-mail.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).parent / "templates"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class LetterData:
    counterparty: dict[str, Any]
    contract: dict[str, Any]
    curator: dict[str, Any]
    company: str
    lines: list[dict[str, Any]]
    today: date

    @property
    def contact(self) -> dict[str, Any] | None:
        contacts = self.counterparty.get("contacts") or []
        return contacts[0] if contacts else None

    def context(self) -> dict[str, Any]:
        return {
            "counterparty": self.counterparty,
            "contract": self.contract,
            "curator": self.curator,
            "company": self.company,
            "lines": self.lines,
            "today": self.today,
            "contact": self.contact,
        }


def render_text(data: LetterData) -> str:
    return _env.get_template("missing_documents.txt.j2").render(data.context())


def render_html(data: LetterData) -> str:
    return _env.get_template("missing_documents.html.j2").render(data.context())


def render_docx(data: LetterData) -> bytes:
    """The same letter as a Word document: addressee, subject, the numbered list, signature."""
    document = Document()
    header = document.add_paragraph(data.counterparty["full_name"])
    header.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    if data.contact:
        who = f"{data.contact.get('position') or ''} {data.contact.get('name') or ''}".strip()
        if who:
            document.add_paragraph(who).alignment = WD_ALIGN_PARAGRAPH.RIGHT
    document.add_paragraph(f"Исх. б/н от {data.today.strftime('%d.%m.%Y')}")
    document.add_heading("О предоставлении документов", level=2)
    document.add_paragraph("Уважаемые коллеги!")
    number = f" № {data.contract['number']}" if data.contract.get("number") else ""
    document.add_paragraph(
        f"Для заключения договора{number} «{data.contract['subject']}» просим предоставить "
        "следующие документы:"
    )
    for line in data.lines:
        text = line["title"]
        if line["status"] == "expired":
            text += f" — срок действия истёк {line['expires_on']}, нужен актуальный документ"
        document.add_paragraph(text, style="List Number")
    document.add_paragraph(
        "Документы можно направить в электронном виде (скан-копии) с последующим "
        "предоставлением оригиналов или нотариально заверенных копий."
    )
    signature = f"С уважением,\n{data.curator['full_name']}"
    if data.curator.get("position"):
        signature += f", {data.curator['position']}"
    signature += f"\n{data.company}"
    document.add_paragraph(signature)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
