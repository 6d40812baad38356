"""The store's tables as typed SQLAlchemy 2 ORM models.

``documents`` and ``analyses`` hold everything; the other tables are query indexes derived from an
analysis (one row per technique, indicator, CVE, named entity, attribution candidate, mitigation) and
are deleted with it. New tables (jobs, reviews, model versions) arrive by a later Alembic migration.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# JSONB on PostgreSQL (indexable, compact), plain JSON text elsewhere
JSONDoc = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    """Timezone-aware now, the one clock every row uses."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of every store table."""


class DocumentRow(Base):
    """A report, unique by the sha256 of its bytes, with its clean text."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")
    media_type: Mapped[str] = mapped_column(String(32), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)

    analyses: Mapped[list[AnalysisRow]] = relationship(
        back_populates="document", cascade="all, delete-orphan", passive_deletes=True
    )


class AnalysisRow(Base):
    """The full Analysis JSON of one document under one (model version, KB sha256)."""

    __tablename__ = "analyses"
    __table_args__ = (UniqueConstraint("document_id", "model_version", "kb_sha256", name="uq_analysis_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    model_version: Mapped[str] = mapped_column(String(128))
    kb_sha256: Mapped[str] = mapped_column(String(64))
    attack_version: Mapped[str] = mapped_column(String(32), default="")
    schema_version: Mapped[str] = mapped_column(String(64))
    ttpmap_version: Mapped[str] = mapped_column(String(32))
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    result: Mapped[dict[str, Any]] = mapped_column(JSONDoc)

    document: Mapped[DocumentRow] = relationship(back_populates="analyses")


def _child_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("analyses.id", ondelete="CASCADE"), index=True)


class TechniqueRow(Base):
    """A technique decision of an analysis, with its best evidence offsets in the document text."""

    __tablename__ = "techniques"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    analysis_id: Mapped[int] = _child_fk()
    technique_id: Mapped[str] = mapped_column(String(16), index=True)
    score: Mapped[float] = mapped_column(Float)
    origin: Mapped[str] = mapped_column(String(64), default="")
    evidence_start: Mapped[int | None] = mapped_column(Integer, nullable=True)
    evidence_end: Mapped[int | None] = mapped_column(Integer, nullable=True)


class IndicatorRow(Base):
    """An IOC (refanged value) of an analysis."""

    __tablename__ = "indicators"
    __table_args__ = (Index("ix_indicators_value", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    analysis_id: Mapped[int] = _child_fk()
    type: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(2048))


class CVERow(Base):
    """A CVE named in a document."""

    __tablename__ = "cves"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    analysis_id: Mapped[int] = _child_fk()
    cve_id: Mapped[str] = mapped_column(String(32), index=True)


class EntityRow(Base):
    """A group, software or campaign named in the text (``kind`` says which)."""

    __tablename__ = "entities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    analysis_id: Mapped[int] = _child_fk()
    kind: Mapped[str] = mapped_column(String(16))
    attack_id: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(Text, default="")
    mention: Mapped[str] = mapped_column(Text, default="")


class CandidateRow(Base):
    """An attribution candidate (a group whose tradecraft is consistent), by rank."""

    __tablename__ = "candidates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    analysis_id: Mapped[int] = _child_fk()
    group_id: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(Text, default="")
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    confidence: Mapped[str] = mapped_column(String(16))


class MitigationRow(Base):
    """A ranked mitigation of an analysis."""

    __tablename__ = "mitigations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    analysis_id: Mapped[int] = _child_fk()
    mitigation_id: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[float] = mapped_column(Float)


class FailureRow(Base):
    """A document that could not be analysed under a (model version, KB sha256), with the one-line reason."""

    __tablename__ = "failures"
    __table_args__ = (UniqueConstraint("sha256", "model_version", "kb_sha256", name="uq_failure_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(Text, default="")
    model_version: Mapped[str] = mapped_column(String(128))
    kb_sha256: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
