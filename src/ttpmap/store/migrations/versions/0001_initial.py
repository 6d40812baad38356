"""Initial store: documents, analyses and their query tables, failures.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSONDoc = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TZ = sa.DateTime(timezone=True)


def _child(name: str, *columns: sa.Column) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "analysis_id", sa.Integer, sa.ForeignKey("analyses.id", ondelete="CASCADE"), nullable=False
        ),
        *columns,
    )
    op.create_index(f"ix_{name}_analysis_id", name, ["analysis_id"])


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("media_type", sa.String(32), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("added_at", TZ, nullable=False),
    )
    op.create_index("ix_documents_added_at", "documents", ["added_at"])
    op.create_table(
        "analyses",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "document_id", sa.Integer, sa.ForeignKey("documents.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("model_version", sa.String(128), nullable=False),
        sa.Column("kb_sha256", sa.String(64), nullable=False),
        sa.Column("attack_version", sa.String(32), nullable=False),
        sa.Column("schema_version", sa.String(64), nullable=False),
        sa.Column("ttpmap_version", sa.String(32), nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("result", JSONDoc, nullable=False),
        sa.UniqueConstraint("document_id", "model_version", "kb_sha256", name="uq_analysis_key"),
    )
    op.create_index("ix_analyses_document_id", "analyses", ["document_id"])
    _child(
        "techniques",
        sa.Column("technique_id", sa.String(16), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("origin", sa.String(64), nullable=False),
        sa.Column("evidence_start", sa.Integer, nullable=True),
        sa.Column("evidence_end", sa.Integer, nullable=True),
    )
    op.create_index("ix_techniques_technique_id", "techniques", ["technique_id"])
    _child(
        "indicators",
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("value", sa.String(2048), nullable=False),
    )
    op.create_index("ix_indicators_value", "indicators", ["value"])
    _child("cves", sa.Column("cve_id", sa.String(32), nullable=False))
    op.create_index("ix_cves_cve_id", "cves", ["cve_id"])
    _child(
        "entities",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("attack_id", sa.String(16), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("mention", sa.Text, nullable=False),
    )
    op.create_index("ix_entities_attack_id", "entities", ["attack_id"])
    _child(
        "candidates",
        sa.Column("group_id", sa.String(16), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("confidence", sa.String(16), nullable=False),
    )
    op.create_index("ix_candidates_group_id", "candidates", ["group_id"])
    _child(
        "mitigations",
        sa.Column("mitigation_id", sa.String(16), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
    )
    op.create_index("ix_mitigations_mitigation_id", "mitigations", ["mitigation_id"])
    op.create_table(
        "failures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("model_version", sa.String(128), nullable=False),
        sa.Column("kb_sha256", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("failed_at", TZ, nullable=False),
        sa.UniqueConstraint("sha256", "model_version", "kb_sha256", name="uq_failure_key"),
    )
    op.create_index("ix_failures_sha256", "failures", ["sha256"])


def downgrade() -> None:
    raise NotImplementedError("ttpmap store migrations are forward only")
