"""Exceptions of the importers; every one ends in ``Error`` and carries a stable ``code``.

Messages never contain ID numbers or credentials: they end up in run records and logs.
"""

from __future__ import annotations


class ImporterError(Exception):
    """Base class of every importer error."""

    code = "importer-error"


class ConfigError(ImporterError):
    """A source's pull configuration or a mapping file is missing or malformed."""

    code = "sync-config"


class CredentialsError(ConfigError):
    """An environment variable named by the configuration for a credential is not set."""

    code = "sync-credentials"


class PlatformError(ImporterError):
    """The platform refused the request in a way that retrying will not fix (401, 404, ...)."""

    code = "platform-refused"


class PlatformUnavailableError(ImporterError):
    """The platform kept failing (5xx, 429, timeouts, broken pages) until retries ran out."""

    code = "platform-unavailable"


class MalformedPageError(ImporterError):
    """A page could not be read: bad JSON, a missing list, out of order or a repeat."""

    code = "platform-malformed-page"


class BudgetExceededError(ImporterError):
    """The run's overall time budget ran out (or a ``Retry-After`` asked for more than is left)."""

    code = "sync-budget-exceeded"


class SourceBusyError(ImporterError):
    """Another process holds the source's sync lease: it is being synced right now."""

    code = "sync-busy"


class FileFormatError(ImporterError):
    """An export file cannot be read (unknown type, no header row, unreadable workbook)."""

    code = "import-file-format"
