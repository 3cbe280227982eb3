"""Every setting of the service in one registry, its rendered reference, and the production check.

The registry is built from the code that reads each setting: the application's ``DEFAULTS``
(``api.config``) and the environment variables named by ``ledger`` and ``api`` modules. Adding a
key to ``DEFAULTS`` without describing it here fails a test, and ``docs/configuration.md`` is
``cehours config reference`` output, checked to be current by another.

Production mode (``CEHOURS_ENV=production``, the container's default) refuses to start with a
development convenience switched on, without a key-encryption key (no attestation could be
signed) or on SQLite (one writer at a time, on one machine): see :func:`production_problems`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from api.auth import KEY_CACHE_SECONDS
from api.config import DEFAULTS, ENV_PREFIX
from api.db import PING_AFTER_IDLE_SECONDS
from ledger.attestations import key_encryption, signing_keys, tables
from ledger.attestations.tokens import DEFAULT_ISSUER, ISSUER_ENV
from ledger.compliance.catalogue import PROFILES_DIR_ENV
from ledger.db.engine import DEFAULT_DATABASE_URL
from ledger.errors import LedgerError
from ledger.log import checkpoints

ENV_VAR = "CEHOURS_ENV"
PRODUCTION = "production"
BIND_ENV = "CEHOURS_BIND"
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
SCHEDULER_METRICS_ENV = "CEHOURS_SCHEDULER_METRICS_BIND"
METRICS_BIND_ENV = "CEHOURS_METRICS_BIND"


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting: where it is read, its default and what it means."""

    env: str
    default: Any
    meaning: str
    config_key: str | None = None
    """The ``app.config`` key, for settings of the Flask application."""
    dev_only: bool = False
    """A development convenience: production mode refuses to start with it switched on."""

    def default_text(self) -> str:
        """The default as it would be written in the environment."""
        if self.default is None:
            return "(none)"
        if isinstance(self.default, str):
            return self.default
        return json.dumps(self.default)


class ProductionConfigError(RuntimeError):
    """Production mode was asked for with a configuration that must not serve."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("refusing to start in production: " + "; ".join(problems))
        self.problems = problems


def _app(key: str, meaning: str, *, default: Any = None, dev_only: bool = False) -> Setting:
    return Setting(
        f"{ENV_PREFIX}_{key}",
        DEFAULTS.get(key, default),
        meaning,
        config_key=key,
        dev_only=dev_only,
    )


APP_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "CEHOURS_DATABASE_URL",
        DEFAULT_DATABASE_URL,
        "SQLAlchemy URL of the database; `DATABASE_URL` is read when this is unset. "
        "`postgresql://` URLs use psycopg 3. Production requires PostgreSQL.",
        config_key="DATABASE_URL",
    ),
    _app(
        "ENGINE_OPTIONS",
        'SQLAlchemy engine options as JSON, e.g. `{"pool_size": 10, "max_overflow": 5}`; '
        "size the pool to gunicorn threads per worker.",
    ),
    _app(
        "DB_PING_AFTER_IDLE_SECONDS",
        "A pooled database connection idle this long is tested before use (a dead one is "
        "replaced unseen); fresher ones are used as they are. `pool_pre_ping` in "
        "`CEHOURS_ENGINE_OPTIONS` tests every one instead.",
        default=PING_AFTER_IDLE_SECONDS,
    ),
    _app(
        "DB_LOCK_TIMEOUT_SECONDS",
        "How long a request waits for a lock another writer holds (SQLite's busy timeout, "
        "PostgreSQL's `lock_timeout`) before it is retried and, at last, answered 503 with "
        "`Retry-After`.",
    ),
    _app(
        "DB_STATEMENT_TIMEOUT_SECONDS",
        "PostgreSQL: how long one statement of a request may run, waits for locks included, "
        "before the server cancels it and the request is answered 503 with `Retry-After` "
        "(`statement_timeout`). Keep it above `CEHOURS_DB_LOCK_TIMEOUT_SECONDS` and well under "
        "the server's worker timeout (120 s). Command-line tools (`db upgrade`, `ledger "
        "verify`) have none.",
    ),
    _app(
        "DB_TRANSACTION_POOLER",
        "`true` when the database URL is PgBouncer in transaction mode: no server-side prepared "
        "statements and no startup options (set `jit`, `lock_timeout` and `statement_timeout` "
        "on the role instead; docs/operations.md).",
    ),
    _app(
        "READ_DATABASE_URL",
        "Streaming replicas for read-only work (transcripts, compliance without issuance, "
        "lookups, JWKS, attestation status, status lists, the log's checkpoint and key): one "
        "or more SQLAlchemy URLs, comma-separated. Writes, issuance and a caller's reads right "
        "after its own write go to `CEHOURS_DATABASE_URL`. Unset: everything there.",
    ),
    _app(
        "READ_MAX_LAG_SECONDS",
        "A replica further behind than this (age of its last replayed transaction while it "
        "has WAL still to replay) is skipped; reads go to another or to the primary.",
    ),
    _app(
        "READ_MAX_LAG_BYTES",
        "Also skip a replica with more than this many bytes of WAL still to replay behind the "
        "primary (measured against the primary once per check). Unset: no byte bound.",
    ),
    _app(
        "READ_CHECK_SECONDS",
        "How long a replica's measured state (up, in recovery, lag) is trusted before each "
        "worker measures it again; a stopped replica is passed over at once on its first "
        "failed read.",
    ),
    _app(
        "READ_YOUR_WRITES_SECONDS",
        "After a caller's write, for this long its reads go only to a replica that has "
        "replayed that write (else to the primary); each worker remembers its own callers.",
    ),
    _app(
        "MAX_CONTENT_LENGTH",
        "Largest request body in bytes, with a `Content-Length` or chunked; bigger bodies are "
        "refused with 413.",
    ),
    _app(
        "IDEMPOTENCY_TTL_SECONDS",
        "How long a response is kept for replay under its `Idempotency-Key`.",
    ),
    _app(
        "IDEMPOTENCY_MAX_STORED_BYTES",
        "Largest answer kept for replay under an `Idempotency-Key`; a larger one is answered "
        "but not kept (a retry runs again, which never appends twice).",
    ),
    _app(
        "METRICS_BIND",
        "HOST:PORT of a listener of its own for `/metrics`, which `cehours serve` opens beside "
        "the public one (it answers nothing else). Unset: no such listener.",
    ),
    _app(
        "METRICS_PUBLIC",
        "Whether the public listener answers `/metrics` too. Default: yes, except in "
        "production (set `CEHOURS_METRICS_BIND` there).",
    ),
    _app(
        "AUTH_CACHE_SECONDS",
        "How long a worker trusts an API key it has checked before reading it again; a key "
        "revoked by `cehours clients revoke` is refused by every worker within this time. "
        "`0`: every request reads its key.",
        default=KEY_CACHE_SECONDS,
    ),
    _app(
        "COMPLIANCE_CACHE_SIZE",
        "Compliance answers each worker keeps for repeated evaluations; `0` turns the cache off.",
        default=256,
    ),
    _app(
        "DEV",
        "Development mode (`cehours serve --dev`): a signing key and key-encryption key are "
        "created under `var/` on first use. Never in production.",
        dev_only=True,
    ),
    _app(
        "LOG_INTERVAL_SECONDS",
        "Seconds between rounds of each server worker's log publisher: it adds new entries to "
        "the Merkle log and signs a checkpoint when the tree grew. `0`: off (then run "
        "`cehours log publish`).",
    ),
    _app(
        "DEV_IDP",
        "`1` enables the development identity provider (tokens from `cehours dev-idp`, "
        "`/dev/sign-in`) when no provider is configured. Never in production.",
        dev_only=True,
    ),
    _app("IDP_ISSUER", "The identity provider's `iss`: individuals' bearer JWTs must carry it."),
    _app("IDP_AUDIENCE", "The `aud` the identity provider puts in tokens meant for this service."),
    _app("IDP_JWKS_URL", "The identity provider's JWKS URL (or give a public key below)."),
    _app("IDP_PUBLIC_KEY", "The identity provider's public key (PEM), instead of a JWKS URL."),
    _app("IDP_PUBLIC_KEY_FILE", "A file holding that public key (PEM)."),
    _app(
        "IDP_ALGORITHMS",
        "Comma-separated algorithms accepted from the identity provider (asymmetric only).",
        default="RS256,ES256,EdDSA",
    ),
    _app("IDP_ID_CLAIM", "The claim holding the resident ID number.", default="id_number"),
    _app("IDP_NAME_CLAIM", "The claim holding the person's name.", default="name"),
    _app(
        "OIDC_ISSUER",
        "The OpenID Provider's issuer URL (its `/.well-known/openid-configuration` is read): "
        "setting it makes the 登录 button sign people in there (code flow with PKCE).",
    ),
    _app("OIDC_CLIENT_ID", "This service's client id at the OpenID Provider."),
    _app(
        "OIDC_CLIENT_SECRET",
        "This service's client secret at the OpenID Provider (from the environment or a secret "
        "store, never the repository).",
    ),
    _app("OIDC_CLIENT_SECRET_FILE", "A file holding that client secret, instead."),
    _app(
        "OIDC_REDIRECT_URI",
        "The redirect URI registered at the provider. Default: `/sign-in/callback` here.",
    ),
    _app(
        "OIDC_POST_LOGOUT_REDIRECT_URI",
        "Where the provider sends the browser after signing out (registered there). "
        "Default: `/signed-out` here.",
    ),
    _app("OIDC_SCOPES", "Scopes asked of the provider.", default="openid profile"),
    _app(
        "OIDC_ID_NUMBER_CLAIM",
        "The claim (in the ID token, else from userinfo) holding the resident ID number.",
        default="id_number",
    ),
    _app("OIDC_NAME_CLAIM", "The claim holding the person's name.", default="name"),
    _app(
        "SECRET_KEY",
        "Signs browser session cookies (sign-in pages); long and random. Without it individuals "
        "cannot sign in in a browser (a development server makes one under `var/`).",
    ),
    _app(
        "COOKIE_SECURE",
        "Session cookies only over HTTPS. Default: on, except on a development server.",
    ),
    _app(
        "PUBLIC_URL",
        "Base URL of verification links printed on proofs; default: the request's own.",
    ),
    _app(
        "ISSUER_NAME",
        "The issuing body printed on proofs and named on the verification page as the one "
        "to contact (e.g. `衢州市人力资源和社会保障局`); default: the demo's.",
        default="继续教育学时登记服务(演示)",
    ),
    _app(
        "VAR_DIR",
        "Where development secrets (dev signing and identity keys) live.",
        default="var",
    ),
    _app("API_TITLE", "Title of the OpenAPI document."),
    _app("API_VERSION", "Version of the OpenAPI document."),
    _app("OPENAPI_VERSION", "OpenAPI version of the document (flask-smorest)."),
    _app("OPENAPI_URL_PREFIX", "Where the OpenAPI document is served (flask-smorest)."),
    _app("OPENAPI_JSON_PATH", "Path of the OpenAPI document under the prefix (flask-smorest)."),
)
"""Settings of the Flask application: ``CEHOURS_<KEY>`` fills ``app.config[KEY]``."""

PROCESS_SETTINGS: tuple[Setting, ...] = (
    Setting(
        ENV_VAR,
        "development",
        "`production` turns on the startup check (no development mode, a key-encryption key, "
        "PostgreSQL) and JSON logs. The container image sets it.",
    ),
    Setting(
        "CEHOURS_LOG_FORMAT",
        None,
        "`json` (one object a line: time, level, logger, message, request_id) or `text`. "
        "Default: `json` in production, `text` otherwise.",
        config_key="LOG_FORMAT",
    ),
    Setting(
        BIND_ENV,
        "127.0.0.1:8000",
        "Address `cehours serve` listens on (the `--bind` option wins); the image uses "
        "`0.0.0.0:8000`.",
    ),
    Setting(
        METRICS_DIR_ENV,
        None,
        "Directory for Prometheus multi-process metrics of the gunicorn workers. "
        "`cehours serve` empties it at start, or makes a fresh temporary one when unset.",
    ),
    Setting(
        SCHEDULER_METRICS_ENV,
        None,
        "HOST:PORT where `cehours scheduler` serves its own `/metrics` (sync runs and "
        "failures); unset: not served.",
    ),
    Setting(
        key_encryption.KEK_ENV,
        None,
        "Key-encryption key (32 random bytes, base64url) that seals the attestation signing "
        "keys in the database; `cehours config new-kek` prints a fresh one. Required in "
        "production (this or the `_FILE` variant).",
    ),
    Setting(
        key_encryption.KEK_FILE_ENV,
        None,
        "A file holding the key-encryption key, readable by its owner only (mode 0600).",
    ),
    Setting(
        signing_keys.LIFETIME_ENV,
        signing_keys.DEFAULT_LIFETIME.days,
        "How many days an attestation stays live (1 to 3660).",
    ),
    Setting(
        checkpoints.ORIGIN_ENV,
        checkpoints.DEFAULT_ORIGIN,
        "The log's origin: the first line of every checkpoint and the name of its signing key "
        "(no spaces, no `+`). Changing it needs a new key (`cehours log key create`).",
    ),
    Setting(
        checkpoints.WITNESSES_ENV,
        None,
        "Witnesses whose cosignatures the log accepts and serves: their cosignature verifier "
        "keys (`<name>+<hex id>+<base64 key>`, as `cehours witness` prints), separated by "
        "commas or spaces.",
    ),
    Setting(
        ISSUER_ENV,
        DEFAULT_ISSUER,
        "The `iss` claim of attestations: this service's public URL.",
    ),
    Setting(
        "CEHOURS_PROOF_FONT",
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc#2",
        "OpenType/TrueType font for the printable proof (`path` or `path#index` for a "
        "collection); the default comes from Debian's `fonts-noto-cjk`.",
    ),
    Setting(
        PROFILES_DIR_ENV,
        None,
        "A directory of rule profiles (YAML) used in addition to the built-in ones.",
    ),
)
"""Settings read from the environment by the process or the ``ledger``."""

TOOL_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "CEHOURS_VERIFY_ID_NUMBER",
        None,
        "`cehours verify`: the applicant's ID number, to check a token's binding without "
        "putting the number on the command line.",
    ),
)
"""Settings of single command-line tools."""

SETTINGS: tuple[Setting, ...] = APP_SETTINGS + PROCESS_SETTINGS + TOOL_SETTINGS
"""Every setting, in the order the reference lists them."""


def is_production(config: Mapping[str, Any] | None = None) -> bool:
    """Whether production mode is on (``CEHOURS_ENV``, or ``ENV`` in an app's config)."""
    value = (config or {}).get("ENV") or os.environ.get(ENV_VAR) or ""
    return str(value).strip().lower() == PRODUCTION


def log_format(config: Mapping[str, Any] | None = None) -> str:
    """``json`` or ``text``: the configured format, else JSON in production."""
    value = (config or {}).get("LOG_FORMAT") or os.environ.get("CEHOURS_LOG_FORMAT")
    if value:
        return "json" if str(value).strip().lower() == "json" else "text"
    return "json" if is_production(config) else "text"


def production_problems(config: Mapping[str, Any], *, check_kek: bool = True) -> list[str]:
    """Why this configuration must not serve in production (empty: it may).

    ``config`` is an application's config (or the same keys); the key-encryption key is read
    from the environment.
    """
    problems = []
    for setting in SETTINGS:
        if setting.dev_only and setting.config_key and config.get(setting.config_key):
            problems.append(f"{setting.env} is on: a development setting")
    url = str(config.get("DATABASE_URL") or "")
    if not url.startswith(("postgresql", "postgres:")):
        problems.append(
            "the database is not PostgreSQL (CEHOURS_DATABASE_URL): SQLite serves one writer "
            "on one machine"
        )
    if config.get("OIDC_ISSUER"):
        if not config.get("OIDC_CLIENT_ID"):
            problems.append("CEHOURS_OIDC_ISSUER is set without CEHOURS_OIDC_CLIENT_ID")
        if not (config.get("OIDC_CLIENT_SECRET") or config.get("OIDC_CLIENT_SECRET_FILE")):
            problems.append(
                "CEHOURS_OIDC_ISSUER is set without a client secret (CEHOURS_OIDC_CLIENT_SECRET"
                " or CEHOURS_OIDC_CLIENT_SECRET_FILE)"
            )
        if not str(config["OIDC_ISSUER"]).startswith("https://"):
            problems.append("CEHOURS_OIDC_ISSUER is not https://")
    if check_kek:
        try:
            key_encryption.load_kek()
        except LedgerError as exc:
            problems.append(f"attestations cannot be signed: {exc}")
    return problems


def signing_key_problem(session: Any) -> str | None:
    """Why no attestation could be signed with this database's keys (``None``: one can)."""
    from sqlalchemy import select

    with session.begin():
        active = session.scalar(
            select(tables.SigningKey.kid).where(
                tables.SigningKey.status == signing_keys.KeyStatus.ACTIVE
            )
        )
    if active is None:
        return "no signing key is active: create one with `cehours keys create`"
    return None


def render_reference() -> str:
    """``docs/configuration.md``: every setting, its variable, default and meaning."""
    lines = [
        "# Configuration reference",
        "",
        "Generated by `cehours config reference > docs/configuration.md` from the settings",
        "registry in `api/settings.py`; a test fails when this page is out of date.",
        "",
        "Settings are environment variables. Values of `CEHOURS_*` application settings that",
        "parse as JSON are taken as JSON (numbers, booleans, objects), the rest as strings.",
        "`cehours config check` prints what would stop a production server from starting.",
        "",
        "## Production mode",
        "",
        "With `CEHOURS_ENV=production` (the container image's default) `cehours serve` and",
        "`create_app` refuse to start when:",
        "",
        "- a development setting is on ("
        + ", ".join(f"`{s.env}`" for s in SETTINGS if s.dev_only)
        + ");",
        "- the database is not PostgreSQL;",
        f"- no key-encryption key is configured (`{key_encryption.KEK_ENV}` or"
        f" `{key_encryption.KEK_FILE_ENV}`);",
        "- (`cehours serve` only, once the database answers) no signing key is active: create",
        "  one with `cehours keys create`.",
        "",
        "Migrations are never applied at start-up: run `cehours db upgrade` first (the compose",
        "file's `migrate` service does).",
        "",
        "## Signing individuals in (OpenID Connect)",
        "",
        "Register this service at the province's OpenID Provider as a confidential client",
        "(authorization code flow, PKCE S256, `client_secret_basic`) with the redirect URI",
        "`<public URL>/sign-in/callback` and the post-logout redirect URI",
        "`<public URL>/signed-out`, then set `CEHOURS_OIDC_ISSUER`, `CEHOURS_OIDC_CLIENT_ID`,",
        "`CEHOURS_OIDC_CLIENT_SECRET` (or `CEHOURS_OIDC_CLIENT_SECRET_FILE`) and",
        "`CEHOURS_OIDC_ID_NUMBER_CLAIM` (the provider's claim holding the resident ID number,",
        "e.g. `sfzhm`), and `CEHOURS_SECRET_KEY`. For example:",
        "",
        "```sh",
        "export CEHOURS_OIDC_ISSUER=https://id.example.gov.cn/oidc",
        "export CEHOURS_OIDC_CLIENT_ID=cehours",
        "export CEHOURS_OIDC_CLIENT_SECRET_FILE=/run/secrets/oidc-client-secret",
        "export CEHOURS_OIDC_ID_NUMBER_CLAIM=sfzhm",
        "export CEHOURS_OIDC_NAME_CLAIM=name",
        "```",
        "",
        "The 登录 button then goes to the provider. Without it (and outside `--dev`) the",
        "sign-in page says that sign-in is not configured; the token box and `/dev/sign-in`",
        "exist in development mode only. Bearer JWTs for `/v1/me` are checked with the",
        "`CEHOURS_IDP_*` settings, as before.",
    ]
    for title, group in (
        ("Application settings", APP_SETTINGS),
        ("Process and ledger settings", PROCESS_SETTINGS),
        ("Command-line tools", TOOL_SETTINGS),
    ):
        lines += ["", f"## {title}", "", "| variable | default | meaning |", "|---|---|---|"]
        for s in group:
            meaning = s.meaning + (" *Development only.*" if s.dev_only else "")
            default = s.default_text().replace("|", "\\|")
            lines.append(f"| `{s.env}` | `{default}` | {meaning} |")
    return "\n".join(lines) + "\n"
