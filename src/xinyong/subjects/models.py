"""Subject tables. Identity numbers are kept only as blind index + ciphertext."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.db import Base, BigId, UtcDateTime, created_at, pk, utcnow


class SubjectKind(enum.StrEnum):
    PERSON = "person"
    ORGANISATION = "organisation"


class LinkRole(enum.StrEnum):
    LEGAL_REPRESENTATIVE = "legal_representative"  # 法定代表人
    RESPONSIBLE_PERSON = "responsible_person"  # 相关责任人


class Subject(Base):
    """信用主体: one archive per person or organisation."""

    __tablename__ = "subjects"

    id: Mapped[pk]
    kind: Mapped[str] = mapped_column(String(16))
    id_type: Mapped[str] = mapped_column(String(32))
    id_index: Mapped[str] = mapped_column(String(32), unique=True)
    id_cipher: Mapped[bytes] = mapped_column(LargeBinary)
    name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(1))
    region_code: Mapped[str | None] = mapped_column(String(6))
    created_at: Mapped[created_at]
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class SubjectAlias(Base):
    """Another document of a person (护照, 港澳台 permits…) linked to their archive (DOMAIN §3).

    Like the subject's own number, kept only as a blind index and a ciphertext bound to it;
    a lookup by the document finds the person.
    """

    __tablename__ = "subject_aliases"

    id: Mapped[pk]
    subject_id: Mapped[int] = mapped_column(BigId, ForeignKey("subjects.id"), index=True)
    id_type: Mapped[str] = mapped_column(String(32))
    id_index: Mapped[str] = mapped_column(String(32), unique=True)
    id_cipher: Mapped[bytes] = mapped_column(LargeBinary)
    source_batch_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[created_at]


class SubjectLink(Base):
    """An organisation's 法定代表人 or 相关责任人 (落实到人)."""

    __tablename__ = "subject_links"
    __table_args__ = (UniqueConstraint("organisation_id", "person_id", "role"),)

    id: Mapped[pk]
    organisation_id: Mapped[int] = mapped_column(BigId, ForeignKey("subjects.id"), index=True)
    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("subjects.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    # Term of office (任职期间); None: not stated, taken as open on that side.
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    source_batch_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[created_at]


class KeyGroupMembership(Base):
    """Key-group tag (重点人群): occupation, licence, issuing body; students aged 18+."""

    __tablename__ = "key_group_memberships"
    __table_args__ = (UniqueConstraint("subject_id", "group_code", "licence_number"),)

    id: Mapped[pk]
    subject_id: Mapped[int] = mapped_column(BigId, ForeignKey("subjects.id"), index=True)
    group_code: Mapped[str] = mapped_column(String(64))
    occupation: Mapped[str | None] = mapped_column(String(200))
    licence_number: Mapped[str] = mapped_column(String(100), default="")
    issuing_body: Mapped[str | None] = mapped_column(String(200))
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[created_at]
