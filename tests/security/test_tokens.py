"""Token validation on every authenticated route, in demo mode (the suite's gateway)
and in OIDC mode (a second gateway on the same services, trusting a local JWKS).

Every bad token is 401 ``application/problem+json`` with ``WWW-Authenticate:
Bearer``, before any service is asked and whatever else is wrong with the request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy import text

from services.devstack import ROOT, Stack, free_port
from tests.security.conftest import PROBLEM, ok, problem

pytestmark = pytest.mark.e2e

Headers = Callable[[str], dict[str, str]]
Mint = Callable[..., str]

#: The routes that need no token.
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/docs"),
    ("GET", "/openapi.json"),
    ("POST", "/api/v1/auth/token"),
}
SAMPLE_PATH_VALUES = {"task_id": "contracts:0123456789abcdef0123456789abcdef:t1"}


def authenticated_routes(gateway: httpx.Client) -> list[tuple[str, str]]:
    schema = ok(gateway.get("/openapi.json"))
    routes = []
    for template, operations in schema["paths"].items():
        for method in operations:
            if method.upper() not in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
                continue
            if (method.upper(), template) in PUBLIC:
                continue
            path = template
            for name in [p["name"] for p in operations[method].get("parameters", [])]:
                value = SAMPLE_PATH_VALUES.get(name, str(uuid.uuid4()))
                path = path.replace("{" + name + "}", value)
            routes.append((method.upper(), path))
    return routes


def assert_unauthenticated(answer: httpx.Response) -> None:
    problem(answer, 401)
    assert answer.headers.get("www-authenticate", "").startswith("Bearer"), answer.headers


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_signed(header: dict[str, Any], claims: dict[str, Any], key: bytes) -> str:
    """An HS256 token signed with any bytes (PyJWT refuses to HMAC with a PEM key)."""
    head = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    signature = hmac.new(key, head.encode(), hashlib.sha256).digest()
    return head + "." + _b64(signature)


def tampered(token: str, **changes: Any) -> str:
    """The same signature on a changed payload."""
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    return ".".join((head, _b64(json.dumps(claims).encode()), signature))


ATTACKER_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ATTACKER_EC = ec.generate_private_key(ec.SECP256R1())


def bad_demo_tokens(mint: Mint, person: dict[str, Any]) -> dict[str, str | None]:
    """Authorization header values that must not get in, by what is wrong with them."""
    now = int(time.time())
    good = mint(person)
    unsigned = jwt.encode(jwt.decode(good, options={"verify_signature": False}), None, "none")
    return {
        "missing": None,
        "empty bearer": "Bearer",
        "basic scheme": "Basic " + base64.b64encode(b"admin:docflow-demo").decode(),
        "token without scheme": good,
        "malformed": "Bearer not-a-jwt",
        "two segments": "Bearer eyJhbGciOiJIUzI1NiJ9.e30",
        "garbage base64": "Bearer ###.###.###",
        "expired": f"Bearer {mint(person, iat=now - 7200, exp=now - 60)}",
        "not yet valid (nbf)": f"Bearer {mint(person, nbf=now + 600)}",
        "issued in the future (iat)": f"Bearer {mint(person, iat=now + 600)}",
        "no exp": f"Bearer {mint(person, exp=None)}",
        "no sub": f"Bearer {mint(person, sub=None)}",
        "wrong issuer": f"Bearer {mint(person, iss='https://evil.example')}",
        "wrong audience": f"Bearer {mint(person, aud='another-api')}",
        "wrong signature": f"Bearer {mint(person, key='not-the-gateway-secret-0123456789abcdef')}",
        "tampered payload": f"Bearer {tampered(good, roles=['admin'])}",
        "alg none": f"Bearer {unsigned}",
        "alg none, no signature dot": "Bearer " + unsigned.rstrip("."),
        "HS512 with the right secret": "Bearer " + mint(person, algorithm="HS512"),
        "RS256 from a stranger": "Bearer " + mint(person, key=ATTACKER_RSA, algorithm="RS256"),
        "ES256 from a stranger": "Bearer " + mint(person, key=ATTACKER_EC, algorithm="ES256"),
    }


@pytest.fixture(scope="module")
def lawyer(card_of: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    return card_of("lawyer")


def test_a_token_made_like_the_gateway_makes_them_gets_in(
    gateway: httpx.Client, mint: Mint, lawyer: dict[str, Any]
) -> None:
    """The positive control: the bad tokens below differ from this one in one way each."""
    me = ok(gateway.get("/api/v1/me", headers={"Authorization": f"Bearer {mint(lawyer)}"}))
    assert me["username"] == "lawyer"


DEMO_TOKEN_KINDS = (
    "missing",
    "empty bearer",
    "basic scheme",
    "token without scheme",
    "malformed",
    "two segments",
    "garbage base64",
    "expired",
    "not yet valid (nbf)",
    "issued in the future (iat)",
    "no exp",
    "no sub",
    "wrong issuer",
    "wrong audience",
    "wrong signature",
    "tampered payload",
    "alg none",
    "alg none, no signature dot",
    "HS512 with the right secret",
    "RS256 from a stranger",
    "ES256 from a stranger",
)


@pytest.mark.parametrize("kind", DEMO_TOKEN_KINDS)
def test_every_authenticated_route_refuses_a_bad_token(
    gateway: httpx.Client, mint: Mint, lawyer: dict[str, Any], kind: str
) -> None:
    tokens = bad_demo_tokens(mint, lawyer)
    assert set(tokens) == set(DEMO_TOKEN_KINDS)
    authorization = tokens[kind]
    headers = {"Authorization": authorization} if authorization is not None else {}
    routes = authenticated_routes(gateway)
    assert len(routes) > 50
    wrong = []
    for method, path in routes:
        answer = gateway.request(method, path, headers=headers)
        if (
            answer.status_code != 401
            or answer.headers.get("content-type") != PROBLEM
            or not answer.headers.get("www-authenticate", "").startswith("Bearer")
        ):
            wrong.append((method, path, answer.status_code, answer.text[:200]))
    assert not wrong, wrong


# --- a person who left the company ------------------------------------------------------


def fresh_person(gateway: httpx.Client, token_for: Headers, department_id: str) -> dict[str, Any]:
    name = f"sec-{uuid.uuid4().hex[:8]}"
    person: dict[str, Any] = ok(
        gateway.post(
            "/api/v1/org/users",
            headers=token_for("admin"),
            json={
                "username": name,
                "full_name": "Проверка Доступа",
                "department_id": department_id,
                "roles": ["curator"],
            },
        ),
        201,
    )
    return person


def deactivate(service_db: Callable[[str], Any], user_id: str) -> None:
    with service_db("org_svc").begin() as conn:
        conn.execute(text("UPDATE users SET active = false WHERE id = :id"), {"id": user_id})


def test_a_deactivated_persons_token_is_refused(
    gateway: httpx.Client,
    token_for: Headers,
    mint: Mint,
    card_of: Callable[[str], dict[str, Any]],
    service_db: Callable[[str], Any],
) -> None:
    sales = card_of("manager")["department_id"]
    leaver, stayer = (fresh_person(gateway, token_for, sales) for _ in range(2))
    deactivate(service_db, leaver["id"])
    stays = {"Authorization": f"Bearer {mint(stayer)}"}
    assert ok(gateway.get("/api/v1/me", headers=stays))["username"] == stayer["username"]
    left = {"Authorization": f"Bearer {mint(leaver)}"}
    for path in ("/api/v1/me", "/api/v1/contracts", "/api/v1/files", "/api/v1/org/users"):
        assert_unauthenticated(gateway.get(path, headers=left))


# --- OIDC mode --------------------------------------------------------------------------

ISSUER = "https://idp.docflow.test/realms/company"
AUDIENCE = "docflow-gateway"
KID = "company-signing-key-1"


class IdentityProvider:
    """The company's OpenID provider as far as the gateway sees it: a JWKS document."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": KID, "use": "sig", "alg": "RS256"})
        body = json.dumps({"keys": [jwk]}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.jwks_url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks"
        self.public_pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, username: str, *, key: Any = None, kid: str = KID, **changes: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": f"idp-{username}",
            "preferred_username": username,
            "iat": now,
            "exp": now + 300,
        }
        for name, value in changes.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": kid})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()
    yield provider
    provider.close()


@pytest.fixture(scope="module")
def oidc_gateway(
    suite: Stack, idp: IdentityProvider, tmp_path_factory: Any
) -> Iterator[httpx.Client]:
    """A second gateway on the suite's services, configured as in production."""
    port = free_port()
    env = suite.env() | {
        "DOCFLOW_DEMO_TOKENS": "false",
        "DOCFLOW_OIDC_ISSUER": ISSUER,
        "DOCFLOW_OIDC_AUDIENCE": AUDIENCE,
        "DOCFLOW_OIDC_JWKS_URL": idp.jwks_url,
    }
    log = tmp_path_factory.mktemp("oidc-gateway") / "gateway.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "uvicorn", "gateway.app:app"),
                *("--host", "127.0.0.1", "--port", str(port), "--no-access-log"),
            ],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, log.read_text()[-3000:]
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.3)
            yield client
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_oidc_a_token_of_the_company_provider_gets_in(
    oidc_gateway: httpx.Client, idp: IdentityProvider
) -> None:
    answer = oidc_gateway.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {idp.token('chief.accountant')}"}
    )
    assert ok(answer)["roles"] == ["chief_accountant"]


def test_oidc_bad_tokens_are_refused_on_every_route(
    oidc_gateway: httpx.Client, idp: IdentityProvider, mint: Mint, lawyer: dict[str, Any]
) -> None:
    now = int(time.time())
    good = idp.token("lawyer")
    claims = jwt.decode(good, options={"verify_signature": False})
    bad = {
        # the classic confusion: the provider's public key used as an HMAC secret
        "HS256 signed with the public key": hand_signed(
            {"alg": "HS256", "typ": "JWT", "kid": KID}, claims, idp.public_pem
        ),
        "demo token while demo sign-in is off": mint(lawyer),
        "alg none": jwt.encode(claims, None, "none"),
        "wrong issuer": idp.token("lawyer", iss="https://evil.example"),
        "wrong audience": idp.token("lawyer", aud="docflow-api"),
        "expired": idp.token("lawyer", iat=now - 7200, exp=now - 60),
        "not yet valid": idp.token("lawyer", nbf=now + 600),
        "no exp": idp.token("lawyer", exp=None),
        "stranger's key, provider's kid": idp.token("lawyer", key=ATTACKER_RSA),
        "unknown kid": idp.token("lawyer", key=ATTACKER_RSA, kid="attacker"),
        "tampered payload": tampered(good, preferred_username="admin"),
        "nobody in the directory": idp.token(f"ghost-{uuid.uuid4().hex[:6]}"),
        "no username": idp.token("lawyer", preferred_username=None, sub=None),
    }
    routes = authenticated_routes(oidc_gateway)
    wrong = []
    for kind, token in bad.items():
        for method, path in routes:
            answer = oidc_gateway.request(
                method, path, headers={"Authorization": f"Bearer {token}"}
            )
            if answer.status_code != 401 or not answer.headers.get(
                "www-authenticate", ""
            ).startswith("Bearer"):
                wrong.append((kind, method, path, answer.status_code, answer.text[:160]))
    assert not wrong, wrong[:20]


def test_oidc_a_deactivated_person_is_refused(
    oidc_gateway: httpx.Client,
    idp: IdentityProvider,
    gateway: httpx.Client,
    token_for: Headers,
    card_of: Callable[[str], dict[str, Any]],
    service_db: Callable[[str], Any],
) -> None:
    leaver = fresh_person(gateway, token_for, card_of("manager")["department_id"])
    deactivate(service_db, leaver["id"])
    assert_unauthenticated(
        oidc_gateway.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {idp.token(leaver['username'])}"}
        )
    )
