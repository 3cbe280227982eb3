"""A source's pull configuration (``Source.config``): its schema, parsed and checked.

The configuration is a JSON object stored with the source. Credentials are never in it: it
names environment variables that hold them. Example (every key other than ``url`` and
``mapping.fields`` has the default shown or is optional)::

    {
      "url": "https://jxjy.example.gov.cn/api/xsjl",
      "auth": {"type": "token", "header": "Authorization", "prefix": "Bearer ",
               "token_env": "QUZHOU_TOKEN"},
      "paging": {"style": "cursor", "records_path": "data", "next_path": "next",
                 "cursor_param": "cursor", "page_size_param": "size", "page_size": 1000},
      "mapping": {"fields": {"external_id": "jlid", "id_number": "sfzh", "name": "xm",
                             "category": "kclb", "hours": "xs", "completed_on": "wcrq",
                             "course.title": "kcmc"},
                  "categories": {"专业科目": "specialised", "行业公需科目": "industry_public",
                                 "一般公需科目": "general_public"}},
      "schedule": {"interval_minutes": 60},
      "timeouts": {"connect": 5, "read": 30},
      "retry": {"attempts": 6, "base_delay": 0.5, "max_delay": 30, "budget_seconds": 1800}
    }

``auth.type`` is ``none``, ``token`` (``token_env``, optional ``header`` and ``prefix``) or
``basic`` (``username_env``, ``password_env``). ``paging.style`` is ``cursor`` (the platform
returns a next-cursor token) or ``updated_since`` (the platform filters on an update time and
sorts by it; ``since_param``, ``page_param``, ``updated_field`` name the parameters and the
record field, ``initial_since`` the first value). ``schedule`` is ``{"interval_minutes": N}`` or
``{"cron": "m h dom mon dow"}`` (Asia/Shanghai). ``params`` and ``headers`` add fixed, non-secret
query parameters and headers.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from importers.errors import ConfigError, CredentialsError
from importers.mapping import FieldMapping, parse_mapping


class PagingStyle(enum.StrEnum):
    """How a platform pages its records."""

    CURSOR = "cursor"  # each page names the next one with a cursor token
    UPDATED_SINCE = "updated_since"  # filtered on an update time and sorted by it, page numbers


class AuthType(enum.StrEnum):
    """Which credential a platform wants."""

    NONE = "none"
    TOKEN = "token"  # noqa: S105 (a kind of credential, not one): a header holding a token
    BASIC = "basic"  # HTTP basic authentication


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try: attempts per request, backoff bounds, and the whole run's budget."""

    attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    budget_seconds: float = 1800.0

    def backoff(self, attempt: int, rand: float) -> float:
        """Exponential backoff with jitter for retry number ``attempt`` (1-based).

        ``rand`` is uniform in [0, 1): spreading retries out keeps a fleet of syncs that failed
        together at year end from retrying in lock-step.
        """
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return float(ceiling * (0.5 + rand / 2))


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """Which credential to send; values come from the environment variables named here."""

    type: str = AuthType.NONE
    header: str = "Authorization"
    prefix: str = "Bearer "
    token_env: str | None = None
    username_env: str | None = None
    password_env: str | None = None

    def token(self) -> str:
        """The token from its environment variable.

        Raises:
            CredentialsError: the variable is not set.
        """
        return _env(self.token_env)

    def basic(self) -> tuple[str, str]:
        """Username and password from their environment variables.

        Raises:
            CredentialsError: a variable is not set.
        """
        return _env(self.username_env), _env(self.password_env)


@dataclass(frozen=True, slots=True)
class PagingConfig:
    """How the platform pages and where things are in its answers."""

    style: str = PagingStyle.CURSOR
    records_path: str = "data"
    next_path: str = "next"
    count_path: str | None = None
    cursor_param: str = "cursor"
    since_param: str = "updated_since"
    page_param: str = "page"
    page_size_param: str = "page_size"
    page_size: int = 1000
    first_page: int = 1
    updated_field: str | None = None
    initial_since: str | None = None
    max_pages: int = 1_000_000


@dataclass(frozen=True, slots=True)
class Schedule:
    """When the scheduler syncs the source: every ``interval_minutes`` or on a ``cron`` line."""

    interval_minutes: float | None = None
    cron: str | None = None


@dataclass(frozen=True, slots=True)
class PullConfig:
    """A source's whole pull configuration, checked."""

    url: str
    mapping: FieldMapping
    auth: AuthConfig = field(default_factory=AuthConfig)
    paging: PagingConfig = field(default_factory=PagingConfig)
    schedule: Schedule | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


def _env(name: str | None) -> str:
    if not name:
        raise CredentialsError("the configuration names no environment variable for a credential")
    value = os.environ.get(name)
    if not value:
        raise CredentialsError(f"environment variable {name} (a sync credential) is not set")
    return value


def _section(config: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = config.get(key) or {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key} must be an object")
    return value


def _pick(section: Mapping[str, Any], name: str) -> dict[str, Any]:
    unknown = set(section) - set(_SECTION_KEYS[name])
    if unknown:
        raise ConfigError(f"{name}: unknown keys {', '.join(sorted(map(str, unknown)))}")
    return dict(section)


_SECTION_KEYS: dict[str, tuple[str, ...]] = {
    "auth": tuple(AuthConfig.__dataclass_fields__),
    "paging": tuple(PagingConfig.__dataclass_fields__),
    "retry": tuple(RetryPolicy.__dataclass_fields__),
    "schedule": tuple(Schedule.__dataclass_fields__),
    "timeouts": ("connect", "read"),
}


def _positive(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"{key} must be a positive number")
    return float(value)


def parse_pull_config(config: Mapping[str, Any] | None) -> PullConfig:
    """Check a source's configuration and return it typed.

    Raises:
        ConfigError: naming the first thing wrong (no configuration, a bad key or value).
    """
    if not config:
        raise ConfigError("the source has no pull configuration")
    if not isinstance(config, Mapping):
        raise ConfigError("the pull configuration must be an object")
    known = {"url", "auth", "paging", "mapping", "schedule", "timeouts", "retry", "params"}
    known |= {"headers", "file_mapping", "lease_seconds"}
    unknown = set(config) - known
    if unknown:
        raise ConfigError(f"unknown configuration keys: {', '.join(sorted(map(str, unknown)))}")
    url = config.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigError("url must be an http:// or https:// URL")

    auth = _auth(config)
    paging = _paging(config)
    schedule = _schedule(config)
    timeouts = _pick(_section(config, "timeouts"), "timeouts")
    retry = _retry(config)

    extras = {}
    for key in ("params", "headers"):
        section = _section(config, key)
        if not all(isinstance(v, str) for v in section.values()):
            raise ConfigError(f"{key} values must be strings")
        extras[key] = {str(k): str(v) for k, v in section.items()}

    return PullConfig(
        url=url,
        mapping=parse_mapping(config.get("mapping"), where="mapping"),
        auth=auth,
        paging=paging,
        schedule=schedule,
        connect_timeout=_positive(timeouts.get("connect", 5), "timeouts.connect"),
        read_timeout=_positive(timeouts.get("read", 30), "timeouts.read"),
        retry=retry,
        params=extras["params"],
        headers=extras["headers"],
    )


def _one_of(value: object, words: type[enum.StrEnum], key: str) -> None:
    if value not in tuple(words):
        raise ConfigError(f"{key} must be one of {', '.join(words)}")


def _auth(config: Mapping[str, Any]) -> AuthConfig:
    auth = AuthConfig(**_pick(_section(config, "auth"), "auth"))
    _one_of(auth.type, AuthType, "auth.type")
    if auth.type == AuthType.TOKEN and not auth.token_env:
        raise ConfigError("auth.token_env must name the environment variable holding the token")
    if auth.type == AuthType.BASIC and not (auth.username_env and auth.password_env):
        raise ConfigError("auth.username_env and auth.password_env are required for basic auth")
    return auth


def _paging(config: Mapping[str, Any]) -> PagingConfig:
    paging = PagingConfig(**_pick(_section(config, "paging"), "paging"))
    _one_of(paging.style, PagingStyle, "paging.style")
    if paging.style == PagingStyle.UPDATED_SINCE and not paging.updated_field:
        raise ConfigError("paging.updated_field is required with the updated_since style")
    if not isinstance(paging.page_size, int) or not 1 <= paging.page_size <= 1000:
        raise ConfigError("paging.page_size must be an integer from 1 to 1000")
    return paging


def _schedule(config: Mapping[str, Any]) -> Schedule | None:
    if not config.get("schedule"):
        return None
    schedule = Schedule(**_pick(_section(config, "schedule"), "schedule"))
    if (schedule.interval_minutes is None) == (schedule.cron is None):
        raise ConfigError("schedule needs exactly one of interval_minutes and cron")
    if schedule.interval_minutes is not None:
        _positive(schedule.interval_minutes, "schedule.interval_minutes")
    if schedule.cron is not None and len(str(schedule.cron).split()) != 5:
        raise ConfigError("schedule.cron must have five fields: minute hour day month weekday")
    return schedule


def _retry(config: Mapping[str, Any]) -> RetryPolicy:
    retry_section = _pick(_section(config, "retry"), "retry")
    for key, value in retry_section.items():
        _positive(value, f"retry.{key}")
    retry = RetryPolicy(**retry_section)
    if not isinstance(retry.attempts, int):
        raise ConfigError("retry.attempts must be an integer")
    return retry


def lease_seconds(config: Mapping[str, Any] | None) -> float:
    """How long a sync lease lasts before another process may take it over (renewed per page)."""
    value = (config or {}).get("lease_seconds", 600)
    return _positive(value, "lease_seconds")
