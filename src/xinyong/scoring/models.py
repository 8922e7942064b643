"""Current scores and their history."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from xinyong.db import Base, BigId, UtcDateTime, pk


class SubjectScore(Base):
    """The score in force for one subject."""

    __tablename__ = "subject_scores"

    # No foreign key on purpose: every id a rescore writes comes from records.subject_id
    # (which has one) or from the scope joined to subjects, and checking 1M keys doubled
    # the cost of a full rescore (docs/benchmarks.md).
    subject_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    model_code: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(Integer)
    band: Mapped[str] = mapped_column(String(32))
    computed_on: Mapped[dt.date] = mapped_column(Date)
    computed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class ScoreHistory(Base):
    """Every change of a subject's score."""

    __tablename__ = "score_history"
    __table_args__ = (Index("ix_score_history_subject_id", "subject_id"),)

    id: Mapped[pk]
    subject_id: Mapped[int] = mapped_column(BigId)  # see SubjectScore.subject_id
    model_code: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(Integer)
    band: Mapped[str] = mapped_column(String(32))
    computed_on: Mapped[dt.date] = mapped_column(Date)
    computed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
