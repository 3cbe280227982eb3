"""Exceptions raised by the ledger domain; every one ends in ``Error``."""

from __future__ import annotations


class LedgerError(Exception):
    """Base class of every domain error; ``code`` is a stable machine-readable name."""

    code = "ledger-error"


class ValidationError(LedgerError):
    """A value failed validation. ``errors`` maps field paths to messages."""

    code = "validation"

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))


class NotFoundError(LedgerError):
    """The thing asked for does not exist (or the caller may not know it does)."""

    code = "not-found"


class UnknownEntryError(NotFoundError):
    """A reversal named an entry that does not exist."""

    code = "unknown-entry"


class UnknownRecordError(NotFoundError):
    """No record with this external id is held for the source."""

    code = "unknown-record"


class UnknownSourceError(NotFoundError):
    """The source id is not registered."""

    code = "unknown-source"


class UnknownPersonError(NotFoundError):
    """No person with this id or ID number is known."""

    code = "unknown-person"


class ReversalError(LedgerError):
    """A reversal is not allowed (of a reversal, or of an entry already reversed)."""

    code = "reversal-refused"


class ConflictError(LedgerError):
    """The request conflicts with what is already stored."""

    code = "conflict"


class SigningKeyError(LedgerError):
    """A signing-key operation is not possible (no active key, retiring the active key...)."""

    code = "signing-key"


class UnknownSigningKeyError(NotFoundError):
    """No signing key with this kid."""

    code = "unknown-signing-key"


class KeyEncryptionKeyError(LedgerError):
    """The key-encryption key is missing, malformed, too readable, or does not open a key."""

    code = "key-encryption-key"


class UnknownAttestationError(NotFoundError):
    """No attestation with this jti."""

    code = "unknown-attestation"


class UnknownStatusListError(NotFoundError):
    """No status list with this id (no attestation was ever given a place in it)."""

    code = "unknown-status-list"


class DuplicatePersonError(ConflictError):
    """The same person appears more than once in one cohort."""

    code = "duplicate-person"


class AttestationStatusError(ConflictError):
    """The attestation's status does not allow this change (e.g. it is already revoked)."""

    code = "attestation-status"


class ProfileError(ValidationError):
    """A rule profile is invalid. ``errors`` maps each path in the file to what is wrong there."""

    code = "invalid-profile"


class UnknownProfileError(NotFoundError):
    """No rule profile with this id (and version) is known."""

    code = "unknown-profile"


class LeaseLostError(ConflictError):
    """Another process took a source's sync lease while this one was still syncing it."""

    code = "sync-lease-lost"


class IdentityTokenError(LedgerError):
    """An individual's identity token was refused (forged, expired, wrong issuer ...)."""

    code = "invalid-identity-token"


class IdentityConfigError(LedgerError):
    """The identity provider's configuration is missing or not acceptable."""

    code = "identity-not-configured"


class StoredAnswerTooLargeError(LedgerError):
    """An answer is larger than an idempotency key may keep; it is answered, not kept."""

    code = "stored-answer-too-large"


class LogError(LedgerError):
    """A request about the log that cannot be answered as asked (a size or range it does not
    have, a proof it cannot give, a cosignature that does not check)."""

    code = "log"


class NotInLogError(NotFoundError):
    """The entry is not (yet) a leaf of the log, or no checkpoint has been signed yet."""

    code = "not-in-log"


class LogKeyError(LedgerError):
    """No checkpoint signing key is usable (none made, or the key-encryption key does not
    open it)."""

    code = "log-key"


class PartitionError(LedgerError):
    """Partitions of ``entries`` were asked of a database where it is not partitioned."""

    code = "not-partitioned"
