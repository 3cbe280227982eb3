"""A running service whose 登录 goes to a real OpenID Provider, itself running on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.oidc.provider import (
    CLIENT_ID,
    ID_CLAIM,
    OpenIDProvider,
    free_port,
    require_node,
    signing_key,
)
from tests.e2e.pages.site import ME, Site, running_site
from tests.factories import id_number

NEWCOMER = id_number(7)
ACCOUNTS = {
    "zhangsan": {ID_CLAIM: ME, "name": "张三"},
    "newcomer": {ID_CLAIM: NEWCOMER, "name": "王五"},
    # The provider vouches for a number whose check character is wrong.
    "mistyped": {ID_CLAIM: ME[:-1] + ("0" if ME[-1] != "0" else "1"), "name": "错号"},
}


@dataclass
class OidcSite:
    """The service (its pages through the provider) and the provider."""

    site: Site
    op: OpenIDProvider

    @property
    def base(self) -> str:
        return self.site.base


@pytest.fixture
def oidc_site(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[OidcSite]:
    node = require_node()
    port = free_port()
    op = OpenIDProvider(
        node=node,
        workdir=tmp_path,
        redirect_uri="",
        post_logout_uri="",
        accounts=ACCOUNTS,
        port=port,
    )
    with running_site(
        sqlite_url,
        tmp_path / "var",
        monkeypatch,
        DEV_IDP=False,
        OIDC_ISSUER=op.issuer,
        OIDC_CLIENT_ID=CLIENT_ID,
        OIDC_CLIENT_SECRET=op.client_secret,
        OIDC_ID_NUMBER_CLAIM=ID_CLAIM,
    ) as site:
        op.redirect_uri = f"{site.base}/sign-in/callback"
        op.post_logout_uri = f"{site.base}/signed-out"
        op.start([signing_key("k1")])
        try:
            yield OidcSite(site, op)
        finally:
            op.stop()
