"""keepalived checks: the DR director that is also its own real server (incident 11), sample
passwords, duplicate VRIDs, real servers without health checks."""

from __future__ import annotations

import ipaddress
from collections import defaultdict

from ..records import Finding, Severity
from .context import AuditContext
from .keepalived_conf import (
    KaError,
    KaFile,
    KeepalivedModel,
    Vip,
    VirtualServer,
    VrrpInstance,
    build_model,
    expand_range,
)

SAMPLE_PASSWORDS = {"1111", "1234", "12345", "123456", "12345678", "password", "pass", "secret", "keepalived"}

_WORKING_DESIGN = (
    "Run keepalived for VRRP only (it moves the virtual IP between the hosts), put an nginx or "
    "HAProxy load balancer on the virtual IP's port 80 that forwards to both hosts, and move the "
    "web server itself to another port (e.g. Apache on :8080). Or keep IPVS DR but make the "
    "directors separate machines from the real servers.")


def check_keepalived(ka: KaFile, ctx: AuditContext) -> list[Finding]:
    model = build_model(ka.nodes)
    findings = [_syntax(e) for e in ka.errors + model.errors]
    findings.extend(dr_same_host(model, ctx))
    findings.extend(sample_auth_pass(model))
    findings.extend(duplicate_vrid(model))
    findings.extend(no_health_check(model))
    return findings


def _syntax(error: KaError) -> Finding:
    return Finding("keepalived.syntax", Severity.WARNING, f"{error.file}:{error.line}",
                   f"keepalived cannot use this part of the file: {error.message}. keepalived skips "
                   "what it cannot parse, so the running configuration differs from what you wrote.",
                   "Fix the line, then check with keepalived -t -f FILE.", error.file, error.line or None)


def _vs_addresses(vs: VirtualServer) -> list[tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, str | None]]:
    return [(ip, port) for text, port in vs.endpoints for ip in expand_range(text)]


def dr_same_host(model: KeepalivedModel, ctx: AuditContext) -> list[Finding]:
    findings: list[Finding] = []
    vips = [vip for inst in model.instances for vip in inst.vips]
    for vs in model.virtual_servers:
        if vs.method != "DR":
            continue
        endpoints = _vs_addresses(vs)
        if ctx.director_addresses is not None:
            findings.extend(_dr_known(vs, endpoints, ctx.director_addresses))
        else:
            findings.extend(_dr_suspected(vs, endpoints, vips))
    return findings


def _dr_known(vs: VirtualServer, endpoints: list[tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, str | None]],
              own: frozenset[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> list[Finding]:
    findings = []
    for real in vs.real_servers:
        ip = _ip(real.address)
        if ip is None or ip not in own:
            continue
        target = ", ".join(f"{a}:{p}" for a, p in endpoints) or vs.label
        findings.append(Finding(
            "keepalived.dr_director_is_real_server", Severity.CRITICAL,
            f"{real.file}:{real.line} virtual_server {vs.label} real_server {real.address} {real.port or ''}".rstrip(),
            f"This host is the IPVS director for {target} in DR mode and also one of its real servers "
            f"({real.address} is this host's own address). A local service listening on the virtual "
            "IP's port answers before IPVS can balance, and with two such hosts packets bounce between "
            "them (each director forwards to the other, whose IPVS forwards back): the site hangs or "
            "half-works. This layout cannot work.", _WORKING_DESIGN, real.file, real.line))
    return findings


def _dr_suspected(vs: VirtualServer, endpoints: list[tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, str | None]],
                  vips: list[Vip]) -> list[Finding]:
    findings = []
    for vip in vips:
        if not any(addr == vip.interface.ip for addr, _ in endpoints):
            continue
        local = [r for r in vs.real_servers if (ip := _ip(r.address)) is not None and ip in vip.interface.network]
        if not local:
            continue
        names = ", ".join(r.address for r in local)
        findings.append(Finding(
            "keepalived.dr_director_is_real_server", Severity.WARNING,
            f"{vs.file}:{vs.line} virtual_server {vs.label} DR on VRRP address {vip.interface.ip}",
            f"This file runs VRRP for {vip.interface.ip} and an IPVS virtual server in DR mode for it "
            f"whose real servers ({names}) sit in the same subnet {vip.interface.network}. If a real "
            "server is also a director (the host running this file), its own web server answers the "
            "virtual IP before IPVS can balance, and two such hosts bounce packets between each other.",
            "Check whether any of the real servers is this host (audit with --host NAME to know). If so: "
            + _WORKING_DESIGN, vs.file, vs.method_line or vs.line))
    return findings


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def sample_auth_pass(model: KeepalivedModel) -> list[Finding]:
    return [Finding(
        "keepalived.sample_auth_pass", Severity.WARNING, f"{inst.file}:{inst.auth_line} vrrp_instance {inst.name}",
        f"auth_pass is '{inst.auth_pass}', the value from keepalived's samples. Anyone on the segment can "
        "send VRRP adverts with it and take over the virtual IP.",
        "Set a random auth_pass (up to 8 characters) on every node, or drop PASS authentication and "
        "protect VRRP (protocol 112) with the firewall.", inst.file, inst.auth_line)
        for inst in model.instances if inst.auth_pass in SAMPLE_PASSWORDS]


def duplicate_vrid(model: KeepalivedModel) -> list[Finding]:
    seen: dict[tuple[str | None, str], list[VrrpInstance]] = defaultdict(list)
    for inst in model.instances:
        if inst.router_id is not None:
            seen[(inst.interface, inst.router_id)].append(inst)
    findings = []
    for (iface, vrid), insts in seen.items():
        for inst in insts[1:]:
            findings.append(Finding(
                "keepalived.duplicate_vrid", Severity.WARNING,
                f"{inst.file}:{inst.line} vrrp_instance {inst.name} virtual_router_id {vrid}",
                f"vrrp_instance {inst.name} uses virtual_router_id {vrid} on {iface}, like "
                f"{insts[0].name} ({insts[0].file}:{insts[0].line}). Instances sharing a router id on one "
                "segment fight over the same virtual MAC: addresses flap between hosts.",
                "Give each VRRP instance on a segment its own virtual_router_id (1-255).", inst.file, inst.line))
    return findings


def no_health_check(model: KeepalivedModel) -> list[Finding]:
    return [Finding(
        "keepalived.no_health_check", Severity.WARNING,
        f"{real.file}:{real.line} virtual_server {vs.label} real_server {real.address} {real.port or ''}".rstrip(),
        f"real_server {real.address} has no health check: when it dies, IPVS keeps sending it its "
        "share of the traffic.",
        "Add a checker block (HTTP_GET, TCP_CHECK, ...) inside the real_server.", real.file, real.line)
        for vs in model.virtual_servers for real in vs.real_servers if not real.checked]
