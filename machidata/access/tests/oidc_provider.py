"""A small OpenID Connect provider for the sign-in tests, on 127.0.0.1 (no network).

It serves the discovery document, the JWKS with an RSA key made when it starts, a token endpoint that
answers any code with an ID token signed by that key (claims set by the test, which also passes the
nonce it read from the authorization redirect), and a userinfo endpoint.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

CLIENT_ID = "machidata-test-client"
CLIENT_SECRET = "test-client-secret"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Provider:
    """The running provider and what it will say next."""

    base: str = ""
    key: rsa.RSAPrivateKey = field(default_factory=new_key)
    kid: str = "test-key-1"
    claims: dict[str, Any] = field(default_factory=dict)  # the ID token's claims for the next code
    userinfo: dict[str, Any] = field(default_factory=dict)
    signing_key: rsa.RSAPrivateKey | None = None  # sign with another key (a forged token)
    nonce: str = ""  # the nonce of the authorization request the test read from the redirect
    token_requests: list[dict[str, list[str]]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def issuer(self) -> str:
        return self.base

    def settings(self) -> dict[str, str]:
        """The MACHIDATA_OIDC_* settings pointing at this provider."""
        return {
            "MACHIDATA_OIDC_CLIENT_ID": CLIENT_ID,
            "MACHIDATA_OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "MACHIDATA_OIDC_ISSUER": self.issuer,
            "MACHIDATA_OIDC_AUTHORIZATION_ENDPOINT": f"{self.base}/authorize",
            "MACHIDATA_OIDC_TOKEN_ENDPOINT": f"{self.base}/token",
            "MACHIDATA_OIDC_USERINFO_ENDPOINT": f"{self.base}/userinfo",
            "MACHIDATA_OIDC_JWKS_ENDPOINT": f"{self.base}/jwks",
        }

    def id_token(self, nonce: str) -> str:
        now = int(time.time())
        payload = {"iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 300, "nonce": nonce}
        payload.update(self.claims)
        return jwt.encode(payload, self.signing_key or self.key, algorithm="RS256", headers={"kid": self.kid})

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return {"keys": [jwk]}

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def start_provider() -> Provider:
    """Start the provider on a free port of 127.0.0.1 in a thread."""
    provider = Provider()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _json(self, body: dict[str, Any], status: int = 200) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/.well-known/openid-configuration":
                self._json(
                    {
                        "issuer": provider.issuer,
                        "authorization_endpoint": f"{provider.base}/authorize",
                        "token_endpoint": f"{provider.base}/token",
                        "userinfo_endpoint": f"{provider.base}/userinfo",
                        "jwks_uri": f"{provider.base}/jwks",
                    }
                )
            elif self.path == "/jwks":
                self._json(provider.jwks())
            elif self.path == "/userinfo":
                if self.headers.get("Authorization") != "Bearer access-token-for-test":
                    self._json({"error": "invalid_token"}, 401)
                    return
                sub = provider.claims.get("sub", "")
                self._json({"sub": sub, **provider.userinfo})
            else:
                self._json({"error": "not_found"}, 404)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode())
            provider.token_requests.append(form)
            if self.path != "/token" or form.get("client_secret") != [CLIENT_SECRET]:
                self._json({"error": "invalid_client"}, 401)
                return
            if not form.get("code_verifier"):
                self._json({"error": "invalid_grant", "error_description": "PKCE required"}, 400)
                return
            token = provider.id_token(provider.nonce)
            self._json({"access_token": "access-token-for-test", "token_type": "Bearer", "id_token": token})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    provider.server = server
    provider.base = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return provider
