"""HTTP(S) targets against a real aiohttp server on loopback with trustme certificates: status,
expected body, redirects, TLS days left, chain and name checks, and the verdict's findings."""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme
from aiohttp import web

from yamori.config.network import PathEntry
from yamori.network.paths.measure import Options, measure
from yamori.network.paths.plan import PathPlan, Target
from yamori.network.paths.verdict import judge
from yamori.records import State


async def serve(cert: trustme.LeafCert | None) -> tuple[web.AppRunner, int]:
    async def root(request: web.Request) -> web.Response:
        return web.Response(text="welcome to the shop")

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("/")

    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=503, text="maintenance")

    app = web.Application()
    app.router.add_get("/", root)
    app.router.add_get("/old", moved)
    app.router.add_get("/broken", broken)
    runner = web.AppRunner(app)
    await runner.setup()
    context = None
    if cert is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = runner.addresses[0][1]
    return runner, port


@pytest.fixture
def ca(tmp_path: Path) -> tuple[trustme.CA, str]:
    authority = trustme.CA()
    path = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return authority, str(path)


def plan_for(url: str, cafile: str | None = None, **settings: object) -> PathPlan:
    from yamori.config.network import parse_target

    scheme, host, port = parse_target(url)
    entry = PathEntry(name="web", targets=[url], ca_file=cafile, **settings)  # type: ignore[arg-type]
    return PathPlan("web", (), (Target(url, scheme, host, port),), entry)


def options(cafile: str | None = None) -> Options:
    return Options(count=3, spread=0.3, attempts=2, timeout=2.0, privileged=True, cafile=cafile)


@pytest.fixture
async def https(ca: tuple[trustme.CA, str]) -> AsyncIterator[int]:
    authority, _ = ca
    runner, port = await serve(authority.issue_cert("127.0.0.1", not_after=dt.datetime.now(dt.UTC)
                                                    + dt.timedelta(days=10)))
    yield port
    await runner.cleanup()


async def test_https_target_reports_status_body_redirects_and_days_left(https: int, ca: tuple[trustme.CA, str]
                                                                       ) -> None:
    _, cafile = ca
    plan = plan_for(f"https://127.0.0.1:{https}/old", cafile, expect_body="the shop")
    measured = await measure(plan, options(cafile))
    http = measured.targets[0].http
    assert http is not None and http.ok and http.status == 200 and http.redirects == 1 and http.body_ok
    assert http.tls is not None and http.tls.chain_valid and http.tls.name_match
    assert http.tls.days_left is not None and 9.0 < http.tls.days_left <= 10.0
    assert measured.targets[0].held is True   # the kept-alive connection carried the second request
    verdict = judge(plan, [measured])
    assert verdict.state is State.WARNING   # 10 days left is inside tls_warning_days = 14
    assert [(f.check, f.severity.value) for f in verdict.findings] == [("net.tls_expiry", "warning")]


async def test_missing_body_text_and_bad_status_are_http_findings(https: int, ca: tuple[trustme.CA, str]) -> None:
    _, cafile = ca
    plan = plan_for(f"https://127.0.0.1:{https}/", cafile, expect_body="sold out", tls_warning_days=3)
    verdict = judge(plan, [await measure(plan, options(cafile))])
    assert [f.check for f in verdict.findings] == ["net.http"] and "expected text" in verdict.findings[0].message
    plan = plan_for(f"https://127.0.0.1:{https}/broken", cafile, tls_warning_days=3)
    verdict = judge(plan, [await measure(plan, options(cafile))])
    assert verdict.state is State.CRITICAL and "HTTP 503" in verdict.findings[0].message
    assert "not a network problem" not in verdict.advice and "web server" in verdict.advice


async def test_untrusted_chain_and_wrong_name_are_reported_with_expiry(ca: tuple[trustme.CA, str]) -> None:
    _, cafile = ca
    other = trustme.CA()
    runner, port = await serve(other.issue_cert("127.0.0.1"))
    try:
        plan = plan_for(f"https://127.0.0.1:{port}/", cafile)
        tls = (await measure(plan, options(cafile))).targets[0].http.tls  # type: ignore[union-attr]
        assert tls is not None and tls.chain_valid is False and tls.days_left is not None and tls.days_left > 300
    finally:
        await runner.cleanup()
    authority, _ = ca
    runner, port = await serve(authority.issue_cert("www.example.test"))
    try:
        plan = plan_for(f"https://127.0.0.1:{port}/", cafile)
        measured = await measure(plan, options(cafile))
        tls = measured.targets[0].http.tls  # type: ignore[union-attr]
        assert tls is not None and tls.chain_valid is True and tls.name_match is False
        verdict = judge(plan, [measured])
        assert verdict.state is State.CRITICAL
        assert any("does not match the name" in f.message for f in verdict.findings)
    finally:
        await runner.cleanup()


async def test_plain_http_and_tcp_refused() -> None:
    runner, port = await serve(None)
    try:
        plan = plan_for(f"http://127.0.0.1:{port}/")
        measured = await measure(plan, options())
        assert judge(plan, [measured]).state is State.OK
        assert measured.targets[0].http.tls is None  # type: ignore[union-attr]
    finally:
        await runner.cleanup()
    plan = plan_for(f"tcp://127.0.0.1:{port}")   # the server is gone: the port is refused
    verdict = judge(plan, [await measure(plan, options())])
    assert verdict.kind == "divergence" and "refused" in verdict.message
