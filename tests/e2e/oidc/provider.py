"""A real OpenID Provider on loopback for the sign-in tests: panva/oidc-provider under Node.js.

The provider's code is pinned in ``tests/oidc_provider/package-lock.json`` and installed from
there with ``npm ci`` when ``node_modules`` is missing; ``provider.mjs`` configures it from the
environment this module sets. With ``CI=true`` a missing Node.js fails the tests, never skips.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

PROVIDER_DIR = Path(__file__).resolve().parents[2] / "oidc_provider"
NODE = os.environ.get("CEHOURS_NODE", "/usr/bin/node")
CLIENT_ID = "cehours-test"
ID_CLAIM = "sfzhm"


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def require_node() -> str:
    """Node.js, with the provider's packages installed (``npm ci`` from the lock file)."""
    node = NODE if Path(NODE).is_file() else shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but Node.js ({NODE}) or npm is missing")
        pytest.skip("Node.js and npm are needed for the OpenID Provider (scripts/system-deps.sh)")
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--prefer-offline"],
            cwd=PROVIDER_DIR,
            check=True,
            timeout=600,
            capture_output=True,
        )
    return node


def signing_key(kid: str) -> dict[str, Any]:
    """A new RSA private signing key as a JWK."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key))
    # PyJWT marks a private key's JWK "key_ops": ["sign"]; the provider would publish that, and
    # a key published for signing only may not verify.
    jwk.pop("key_ops", None)
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


@dataclass
class OpenIDProvider:
    """One provider process; :meth:`restart` with other keys rotates its signing key."""

    node: str
    workdir: Path
    redirect_uri: str
    post_logout_uri: str
    accounts: dict[str, dict[str, str]]
    port: int = field(default_factory=free_port)
    client_secret: str = field(default_factory=lambda: os.urandom(16).hex())
    process: subprocess.Popen[bytes] | None = None
    userinfo_only: bool = False
    """The ID token without the profile's claims: the relying party must ask userinfo."""

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, keys: list[dict[str, Any]]) -> None:
        """Start with ``keys`` (the first one signs) and wait for its discovery document."""
        keys_file = self.workdir / "op-keys.json"
        keys_file.write_text(json.dumps({"keys": keys}))
        env = {
            **os.environ,
            "OP_PORT": str(self.port),
            "OP_ISSUER": self.issuer,
            "OP_KEYS_FILE": str(keys_file),
            "OP_CLIENT": json.dumps(
                {
                    "client_id": CLIENT_ID,
                    "client_secret": self.client_secret,
                    "redirect_uris": [self.redirect_uri],
                    "post_logout_redirect_uris": [self.post_logout_uri],
                }
            ),
            "OP_ACCOUNTS": json.dumps(self.accounts),
            "OP_CLAIMS": json.dumps(["name", ID_CLAIM]),
            "OP_USERINFO_ONLY": "1" if self.userinfo_only else "0",
        }
        with (self.workdir / "op.log").open("ab") as log:
            self.process = subprocess.Popen(
                [self.node, "provider.mjs"], cwd=PROVIDER_DIR, env=env, stdout=log, stderr=log
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the OpenID Provider exited: " + self.log())
            try:
                answer = requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=2)
                if answer.status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("the OpenID Provider did not answer: " + self.log())

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def restart(self, keys: list[dict[str, Any]]) -> None:
        self.stop()
        self.start(keys)

    def log(self) -> str:
        path = self.workdir / "op.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""
