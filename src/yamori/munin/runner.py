"""Run one Munin plugin the way munin-node does: its own session (so a timeout kills the
whole process group), a clean environment with munin-node's variables and the plugin's
env.*, the configured user and groups when we are root, and a hard timeout.

Nothing of yamori's own environment reaches the plugin (it may hold secrets such as
YAMORI_SMTP_PASSWORD); output is capped so a runaway plugin cannot fill our memory.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import selectors
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

MAX_STDOUT = 1 << 20
MAX_STDERR = 64 << 10

# Munin::Common::Defaults as Debian's munin-node 2.0 exports them to every plugin.
MUNIN_DEFAULTS = {
    "MUNIN_PREFIX": "/usr", "MUNIN_CONFDIR": "/etc/munin", "MUNIN_BINDIR": "/usr/bin",
    "MUNIN_SBINDIR": "/usr/sbin", "MUNIN_LIBDIR": "/usr/share/munin", "MUNIN_DBDIR": "/var/lib/munin",
    "MUNIN_SPOOLDIR": "/var/lib/munin-async", "MUNIN_LOGDIR": "/var/log/munin",
    "MUNIN_STATEDIR": "/var/run/munin", "MUNIN_USER": "munin", "MUNIN_GROUP": "munin",
    "MUNIN_PLUGINUSER": "nobody", "MUNIN_VERSION": "2.0.73", "MUNIN_PERL": "/usr/bin/perl",
    "MUNIN_PERLLIB": "/usr/share/perl5", "MUNIN_GOODSH": "/bin/sh", "MUNIN_BASH": "/bin/bash",
    "MUNIN_PYTHON": "/usr/bin/env python3", "MUNIN_OSTYPE": "linux", "MUNIN_HASSETR": "1",
    "MUNIN_MKTEMP": "mktemp -p /tmp/ $1", "MUNIN_CGIDIR": "/usr/lib/munin/cgi", "MUNIN_CGITMPDIR": "",
    "MUNIN_DOCDIR": "/usr/doc", "MUNIN_HTMLDIR": "/var/cache/munin/www", "MUNIN_MANDIR": "/usr/share/man",
    "MUNIN_RUBY": "/usr/bin/env ruby", "MUNIN_HOSTNAME": "localhost.localdomain",
}


class RunError(Exception):
    """The plugin could not be started (missing, not executable, unknown user)."""


@dataclass(frozen=True, slots=True)
class Invocation:
    """Everything needed to run one plugin once."""

    path: Path
    name: str
    env: Mapping[str, str] = field(default_factory=dict)
    user: str | None = None
    groups: tuple[str, ...] = ()
    timeout: float = 60.0
    command: tuple[str, ...] = ()
    state_dir: Path = Path("/var/lib/munin-node/plugin-state")
    fqdn: str = "localhost"
    proc_root: Path | None = None
    """Run the plugin with this tree bind-mounted over /proc in a private mount namespace
    (root only): Munin's plugins read /proc by hard-coded paths."""


@dataclass(frozen=True, slots=True)
class RunResult:
    stdout: str
    stderr: str
    returncode: int | None
    timed_out: bool
    seconds: float
    truncated: bool = False


def environment(inv: Invocation, user: str) -> dict[str, str]:
    """munin-node's prepare_plugin_environment + export_service_environment."""
    env = dict(MUNIN_DEFAULTS)
    plugstate = inv.state_dir / user
    env.update({
        "MUNIN_DEBUG": "0", "FQDN": inv.fqdn, "MUNIN_MASTER_IP": "",
        "MUNIN_CAP_MULTIGRAPH": "1", "LC_ALL": "C", "LANG": "C", "PYTHONIOENCODING": "utf8:replace",
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "MUNIN_PLUGSTATE": str(plugstate),
        "MUNIN_STATEFILE": f"{plugstate}/{inv.name}-", "HOME": "/",
    })
    env.update(inv.env)
    return env


def argv(inv: Invocation, argument: str | None) -> list[str]:
    """The command munin-node would exec: `command` from plugin-conf.d with %c expanded."""
    plugin = [str(inv.path)] + ([argument] if argument else [])
    if not inv.command:
        return plugin
    result: list[str] = []
    for token in inv.command:
        result.extend(plugin if token == "%c" else [token])
    return result


def run(inv: Invocation, argument: str | None = None) -> RunResult:
    """Run `plugin [argument]`; never raises for what the plugin does (only RunError when it
    cannot be started). A plugin still running at the timeout is killed with its group."""
    identity = _identity(inv)
    user_name = identity[0] if identity else pwd.getpwuid(os.getuid()).pw_name
    env = environment(inv, user_name)
    command = argv(inv, argument)
    kwargs: dict[str, object] = {}
    if inv.proc_root is not None:
        command = _with_proc_root(inv.proc_root, command, identity)
    elif identity is not None:
        _, uid, gid, extra = identity
        kwargs = {"user": uid, "group": gid, "extra_groups": extra}
    _prepare_state(env["MUNIN_PLUGSTATE"], identity)
    started = time.monotonic()
    try:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env, cwd="/", start_new_session=True, close_fds=True, **kwargs)  # type: ignore[call-overload]
    except OSError as err:
        raise RunError(f"{inv.path}: cannot run: {err.strerror or err}") from err
    out, errout, timed_out, truncated = _collect(proc, inv.timeout)
    return RunResult(out.decode("utf-8", "replace"), errout.decode("utf-8", "replace"), proc.returncode,
                     timed_out, time.monotonic() - started, truncated)


def _identity(inv: Invocation) -> tuple[str, int, int, list[int]] | None:
    """(user, uid, gid, groups) to switch to; None when not root (munin-node then runs the
    plugin as itself, with a warning, and so do we)."""
    if os.getuid() != 0:
        return None
    name = inv.user or MUNIN_DEFAULTS["MUNIN_PLUGINUSER"]
    try:
        entry = pwd.getpwnam(name) if not name.isdigit() else pwd.getpwuid(int(name))
    except KeyError:
        raise RunError(f"{inv.name}: user {name!r} does not exist") from None
    gids: list[int] = []
    for group in inv.groups:
        optional = group.startswith("(") and group.endswith(")")
        group_name = group.strip("()")
        try:
            gids.append(grp.getgrnam(group_name).gr_gid if not group_name.isdigit() else int(group_name))
        except KeyError:
            if not optional:
                raise RunError(f"{inv.name}: group {group_name!r} does not exist") from None
    if not gids:
        try:
            gids = [grp.getgrnam(MUNIN_DEFAULTS["MUNIN_GROUP"]).gr_gid]
        except KeyError:
            gids = [entry.pw_gid]
    return entry.pw_name, entry.pw_uid, gids[0], gids


def _with_proc_root(root: Path, command: list[str], identity: tuple[str, int, int, list[int]] | None) -> list[str]:
    if os.getuid() != 0:
        raise RunError(f"a /proc root other than /proc ({root}) needs root (a private mount namespace)")
    drop: list[str] = []
    if identity is not None:
        _, uid, gid, extra = identity
        drop = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--groups=" + ",".join(map(str, extra)), "--"]
    script = 'mount --bind -- "$0" /proc && exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, str(root), *drop, *command]


def _prepare_state(directory: str, identity: tuple[str, int, int, list[int]] | None) -> None:
    """munin-node creates the plugin-state directory of the plugin's user; so do we (best effort:
    a plugin that needs it and finds none says so on its own)."""
    path = Path(directory)
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o755)
        if identity is not None:
            os.chown(path, identity[1], identity[2])
    except OSError:
        pass


def _collect(proc: subprocess.Popen[bytes], timeout: float) -> tuple[bytes, bytes, bool, bool]:
    """Read stdout and stderr until both close or the deadline; kill the group on overrun."""
    assert proc.stdout is not None and proc.stderr is not None
    buffers = {proc.stdout: bytearray(), proc.stderr: bytearray()}
    limits = {proc.stdout: MAX_STDOUT, proc.stderr: MAX_STDERR}
    streams = {stream.fileno(): stream for stream in buffers}
    deadline = time.monotonic() + timeout
    timed_out = truncated = False
    with selectors.DefaultSelector() as sel:
        for stream in buffers:
            sel.register(stream, selectors.EVENT_READ)
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            for key, _ in sel.select(left):
                chunk = os.read(key.fd, 65536)
                stream = streams[key.fd]
                if not chunk:
                    sel.unregister(stream)
                    continue
                buffers[stream] += chunk
                if len(buffers[stream]) > limits[stream]:
                    truncated = True
                    del buffers[stream][limits[stream]:]
                    sel.unregister(stream)
            if truncated:
                break
    if timed_out or truncated:
        _kill_group(proc)
    try:
        proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:  # closed its output but kept running
        timed_out = True
        _kill_group(proc)
        proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    return bytes(buffers[proc.stdout]), bytes(buffers[proc.stderr]), timed_out, truncated


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
