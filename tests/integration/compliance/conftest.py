"""The HTTP API fixtures (an app on a fresh database, client keys), reused for compliance."""

from tests.integration.api.conftest import app, app_session, http, make_key  # noqa: F401
