"""Tables of mail_svc's database (incoming and outgoing correspondence)."""

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass
