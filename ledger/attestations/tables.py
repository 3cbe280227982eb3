"""The attestation tables: signing keys, attestations, what each counted, their audit trail,
and the short codes printed on proofs."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db.base import Base
from ledger.db.types import EntryId, UTCDateTime

MAX_APPLICATION_REF = 128


class SigningKey(Base):
    """An attestation signing key: public JWK in clear, private key sealed under the KEK."""

    __tablename__ = "signing_keys"
    # At most one active key, even when two servers create a development key at the same moment.
    __table_args__ = (
        Index(
            "uq_signing_keys_one_active",
            "status",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    private_key_sealed: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(128))
    rotated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    rotated_by: Mapped[str | None] = mapped_column(String(128))
    # Latest moment a token signed by this key can still be live; unpublished after it.
    publish_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    retired_by: Mapped[str | None] = mapped_column(String(128))
    retired_reason: Mapped[str | None] = mapped_column(Text)


class Attestation(Base):
    """One issued attestation and its current status (the token itself never changes)."""

    __tablename__ = "attestations"
    __table_args__ = (
        Index("uq_attestations_status_position", "status_position", unique=True),
        # Only the attestations whose bits are not zero: what building a status list reads.
        Index(
            "ix_attestations_changed_positions",
            "status_position",
            sqlite_where=text("status <> 'valid'"),
            postgresql_where=text("status <> 'valid'"),
        ),
    )

    jti: Mapped[str] = mapped_column(String(40), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(32), ForeignKey("people.id"), index=True)
    profile_id: Mapped[str] = mapped_column(String(64))
    profile_version: Mapped[str] = mapped_column(String(32))
    profile_digest: Mapped[str] = mapped_column(String(64))
    as_of: Mapped[dt.date] = mapped_column(Date)
    application_ref: Mapped[str | None] = mapped_column(String(MAX_APPLICATION_REF))
    # No foreign key: a check would lock the one active key's row in every issuance (0007).
    kid: Mapped[str] = mapped_column(String(64), index=True)
    token: Mapped[str] = mapped_column(Text)
    compliant: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    issued_by: Mapped[str] = mapped_column(String(128))
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # Its place in a status list (``ledger.attestations.status_bits``); none before 0011.
    status_position: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite")
    )


class StatusList(Base):
    """One IETF Token Status List; ``version`` goes up with every change of its bits."""

    __tablename__ = "status_lists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class AttestationEntry(Base):
    """An entry an attestation counted (indexed by entry, so staleness is one cheap join)."""

    __tablename__ = "attestation_entries"

    jti: Mapped[str] = mapped_column(String(40), ForeignKey("attestations.jti"), primary_key=True)
    # No foreign key (0007): entries are append-only, and a check would lock each counted entry.
    entry_id: Mapped[int] = mapped_column(EntryId, primary_key=True, index=True)


class AttestationEvent(Base):
    """Audit trail: every issuance and status change. Append-only (triggers refuse changes)."""

    __tablename__ = "attestation_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    jti: Mapped[str] = mapped_column(String(40), ForeignKey("attestations.jti"), index=True)
    event: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ProofCode(Base):
    """The short verification code printed on a proof of one attestation
    (``ledger.attestations.codes``). Append-only (triggers refuse changes): a code once printed
    names its attestation for ever."""

    __tablename__ = "proof_codes"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    jti: Mapped[str] = mapped_column(String(40), ForeignKey("attestations.jti"), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


ATTESTATIONS = cast(Table, Attestation.__table__)


ATTESTATION_ENTRIES = cast(Table, AttestationEntry.__table__)


ATTESTATION_EVENTS = cast(Table, AttestationEvent.__table__)


STATUS_LISTS = cast(Table, StatusList.__table__)
