"""Tables of notify_svc's database (in-app inbox, e-mail, Telegram)."""

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass
