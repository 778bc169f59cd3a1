"""The web server as an attacker meets it: binds beyond loopback need a login, sessions and
CSRF tokens, a limit on guessing, a Host check, connection caps, no secrets on /healthz."""

from __future__ import annotations

import base64
import re
import socket
import ssl
import subprocess
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from yamori.web.passwords import hash_password, verify_password

from .agentproc import YAMORI, running_agent, write_config

PASSWORD = "correct horse battery"


def users_toml() -> str:
    return f'[[web.users]]\nname = "alice"\npassword_hash = "{hash_password(PASSWORD)}"\n'


class Client:
    """urllib with cookies and without following redirects unless asked."""

    def __init__(self, base: str, context: ssl.SSLContext | None = None) -> None:
        self.base = base
        self.jar = CookieJar()
        client = self

        class Redirects(urllib.request.HTTPRedirectHandler):
            def http_error_303(self, req, fp, code, msg, headers):  # type: ignore[no-untyped-def]
                client.raw_cookies += headers.get_all("Set-Cookie") or []
                return super().http_error_303(req, fp, code, msg, headers)

        handlers: list[urllib.request.BaseHandler] = [urllib.request.HTTPCookieProcessor(self.jar), Redirects()]
        if context is not None:
            handlers.append(urllib.request.HTTPSHandler(context=context))
        self.opener = urllib.request.build_opener(*handlers)
        self.raw_cookies: list[str] = []

    def request(self, path: str, data: dict[str, str] | None = None, headers: dict[str, str] | None = None,
                method: str | None = None) -> tuple[int, dict[str, str], str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base + path.lstrip("/"), data=body, headers=headers or {}, method=method)
        try:
            with self.opener.open(req, timeout=10) as response:
                self.raw_cookies += response.headers.get_all("Set-Cookie") or []
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as err:
            self.raw_cookies += err.headers.get_all("Set-Cookie") or []
            return err.code, dict(err.headers), err.read().decode()


def login_token(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def page_csrf(page: str) -> str:
    match = re.search(r'data-csrf="([^"]*)"', page)
    assert match and match.group(1), "every page carries the session's CSRF token"
    return match.group(1)


def test_config_check_and_run_refuse_an_open_bind_without_users(tmp_path: Path) -> None:
    config = write_config(tmp_path, listen="0.0.0.0:18999")
    check = subprocess.run([*YAMORI, "--config", str(config), "config", "check"], capture_output=True, text=True,
                           timeout=60)
    assert check.returncode == 2
    assert re.search(r"yamori\.toml:\d+: agent\.listen: 0\.0\.0\.0:18999 is reachable", check.stderr), check.stderr
    assert "Traceback" not in check.stderr
    run = subprocess.run([*YAMORI, "--config", str(config), "run"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "agent.listen" in run.stderr
    # the same bind with a user is accepted
    config.write_text(config.read_text() + users_toml())
    ok = subprocess.run([*YAMORI, "--config", str(config), "config", "check"], capture_output=True, text=True,
                        timeout=60)
    assert ok.returncode == 0, ok.stderr


def test_web_passwd_prints_an_entry_that_verifies() -> None:
    out = subprocess.run([*YAMORI, "web", "passwd", "alice"], input=PASSWORD + "\n", capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert PASSWORD not in out.stdout
    entry = tomllib.loads(out.stdout)["web"]["users"][0]
    assert entry["name"] == "alice"
    assert verify_password(PASSWORD, entry["password_hash"])
    assert not verify_password("wrong", entry["password_hash"])
    short = subprocess.run([*YAMORI, "web", "passwd", "bob"], input="short\n", capture_output=True, text=True,
                           timeout=60)
    assert short.returncode == 2 and "8 characters" in short.stderr


def test_beyond_loopback_everything_needs_a_login(tmp_path: Path) -> None:
    with running_agent(tmp_path, extra=users_toml(), listen="0.0.0.0:0", seed=False) as agent:
        port = urllib.parse.urlsplit(agent.url).port
        client = Client(f"http://127.0.0.1:{port}/")
        # no session: the pages lead to the login form, the API and /healthz answer 401
        status, _, page = client.request("/")
        assert status == 200 and 'action="/login"' in page and "password" in page
        assert client.request("/api/overview")[0] == 401
        assert client.request("/healthz")[0] == 401
        assert client.request("/metrics")[0] == 401
        basic = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
        assert client.request("/metrics", headers={"Authorization": f"Basic {basic}"})[0] == 200
        # an action without a session is refused before anything happens
        assert client.request("/api/audit/run", data={})[0] in (401, 403)
        # the login form's own token is required
        assert client.request("/login", data={"user": "alice", "password": PASSWORD})[0] == 403
        status, _, page = client.request("/login")
        status, _, page = client.request("/login", data={"user": "alice", "password": PASSWORD,
                                                         "csrf": login_token(page), "next": "/guard"})
        assert status == 200 and "<h1>Guard</h1>" in page
        cookie = next(c for c in client.raw_cookies if c.startswith("yamori_session="))
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
        # logged in: every page and the API answer; an action needs the CSRF token
        assert client.request("/api/overview")[0] == 200
        csrf = page_csrf(page)
        status, _, body = client.request("/api/audit/run", data={})
        assert status == 403 and "CSRF" in body
        assert client.request("/api/audit/run", data={"csrf": "x" * 43})[0] == 403
        status, _, body = client.request("/api/audit/run", data={}, headers={"X-CSRF-Token": csrf,
                                                                             "Content-Type": "application/json"})
        assert status == 200 and '"findings"' in body
        # DNS rebinding: a name that is not ours is refused
        assert client.request("/", headers={"Host": "attacker.example"})[0] == 421
        # guessing is limited: after 5 failures in a minute even the right password waits
        fresh = Client(f"http://127.0.0.1:{port}/")
        codes = []
        for _ in range(6):
            page = fresh.request("/login")[2]
            codes.append(fresh.request("/login", data={"user": "alice", "password": "guess",
                                                       "csrf": login_token(page)})[0])
        assert codes[:5] == [401] * 5 and codes[5] == 429
        page = fresh.request("/login")[2]
        assert fresh.request("/login", data={"user": "alice", "password": PASSWORD,
                                             "csrf": login_token(page)})[0] == 429


def test_pages_carry_a_csp_without_inline_script_and_no_secrets(tmp_path: Path) -> None:
    secret = "hooks/T0KEN-s3cr3t-4242"
    extra = f'[alerts.webhook]\nurl = "http://127.0.0.1:9/{secret}"\n'
    with running_agent(tmp_path, extra=extra, seed=False) as agent:
        client = Client(agent.url)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and '"raid"' not in client.request("/healthz")[2]:
            time.sleep(0.2)
        for path in ("/", "/healthz", "/api/overview", "/guard", "/audit", "/metrics"):
            status, headers, body = client.request(path)
            assert status == 200, path
            assert secret not in body and "T0KEN" not in body, path
            csp = headers["Content-Security-Policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        health = client.request("/healthz")[2]
        assert "webtest" not in health and "127.0.0.1" not in health, "healthz names no host and no address"


def test_connection_cap_per_client(tmp_path: Path) -> None:
    with running_agent(tmp_path, extra="[web]\nmax_per_client = 4\n", seed=False) as agent:
        port = urllib.parse.urlsplit(agent.url).port
        assert port is not None
        idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(10)]
        try:
            time.sleep(0.5)
            closed = 0
            for s in idle:
                s.settimeout(0.5)
                try:
                    if s.recv(1) == b"":
                        closed += 1
                except TimeoutError:
                    pass
                except ConnectionResetError:
                    closed += 1
            assert closed >= 6, f"only {closed} of 10 idle connections over the cap of 4 were closed"
        finally:
            for s in idle:
                s.close()
        time.sleep(0.3)
        assert Client(agent.url).request("/healthz")[0] == 200, "the cap frees up as connections close"


def test_tls_and_secure_cookies(tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme", reason="trustme is in the test extras (pip install -e '.[test]')")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "server.pem"))
    (tmp_path / "server.pem").chmod(0o600)
    extra = f'[web]\ntls_cert = "{tmp_path / "server.pem"}"\ntls_key = "{tmp_path / "server.pem"}"\n'
    with running_agent(tmp_path, extra=extra, seed=False) as agent:
        assert agent.url.startswith("https://")
        context = ssl.create_default_context()
        ca.configure_trust(context)
        client = Client(agent.url, context)
        status, headers, _ = client.request("/")
        assert status == 200 and "Strict-Transport-Security" in headers
        cookie = next(c for c in client.raw_cookies if c.startswith("yamori_session="))
        assert "Secure" in cookie and "HttpOnly" in cookie
