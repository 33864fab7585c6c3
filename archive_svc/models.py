"""Tables of archive_svc's database (files in object storage, folders, search, rights)."""

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass
