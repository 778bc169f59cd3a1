"""`yamori remote` against real OpenSSH sshds in network namespaces the test creates.

    client ns (yamori)  192.0.2.1 --veth-- 192.0.2.2  jump ns (sshd "ymr-jump")
                                           198.51.100.1 --veth-- 198.51.100.2  inner ns (sshd "ymr-inner")

The client namespace has no route to 198.51.100.0/24: the inner host is reachable only through
the jump host. Each sshd runs in its own UTS and mount namespace, so `uname -n` and
/etc/machine-id answer differently on each. Both share this machine's filesystem, so the test
command writes its marker as DIR/ran-$(uname -n): the file's name says which host ran it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.support.netns import can_use_netns, netns, ns_run
from tests.support.sshd import Sshd, can_run_sshd, keygen

pytestmark = pytest.mark.skipif(bool(can_use_netns() or can_run_sshd()),
                                reason=str(can_use_netns() or can_run_sshd()))

JUMP_ADDR, INNER_ADDR = "192.0.2.2", "198.51.100.2"


@dataclass
class World:
    client_ns: str
    jump: Sshd
    inner: Sshd
    client_key: Path
    markers: Path
    tmp: Path

    def config(self, inner_key: str | None = None, inner_hostname: str | None = None,
               inner_machine_id: str | None = None, extra: str = "") -> Path:
        path = self.tmp / f"yamori-{secrets.token_hex(3)}.toml"
        path.write_text(f"""
[[inventory.hosts]]
name = "jump"
ssh = "root@{JUMP_ADDR}:22"
host_key = "{self.jump.host_key}"
hostname = "{self.jump.hostname}"
identity = "{self.client_key}"

[[inventory.hosts]]
name = "inner"
ssh = "root@{INNER_ADDR}"
via = "jump"
host_key = "{inner_key or self.inner.host_key}"
hostname = "{inner_hostname or self.inner.hostname}"
machine_id = "{inner_machine_id or self.inner.machine_id}"
identity = "{self.client_key}"
{extra}
""")
        return path

    def yamori(self, config: Path, *args: str, input: str | None = None,
               timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """The real CLI, run inside the client namespace."""
        return subprocess.run(["ip", "netns", "exec", self.client_ns, sys.executable, "-m", "yamori.cli",
                               "-c", str(config), *args], capture_output=True, text=True, timeout=timeout,
                              input=input, stdin=None if input is not None else subprocess.DEVNULL,
                              env={**os.environ, "SSH_AUTH_SOCK": ""})

    def marker_command(self) -> list[str]:
        return ["sh", "-c", f'echo "$0" > {self.markers}/ran-$(uname -n); echo out; echo err >&2; exit 7',
                "hello world; rm -rf /"]

    def ran(self) -> list[str]:
        return sorted(p.name for p in self.markers.iterdir())


@pytest.fixture(scope="module")
def network() -> Iterator[tuple[str, str, str]]:
    with netns("ymr-rmtc") as client, netns("ymr-rmtj") as jump, netns("ymr-rmti") as inner:
        subprocess.run(["ip", "-n", client, "link", "add", "rc0", "type", "veth", "peer", "name", "rj0",
                        "netns", jump], check=True)
        subprocess.run(["ip", "-n", jump, "link", "add", "rj1", "type", "veth", "peer", "name", "ri0",
                        "netns", inner], check=True)
        for ns, dev, cidr in ((client, "rc0", "192.0.2.1/24"), (jump, "rj0", "192.0.2.2/24"),
                              (jump, "rj1", "198.51.100.1/24"), (inner, "ri0", "198.51.100.2/24")):
            ns_run(ns, "ip", "addr", "add", cidr, "dev", dev)
            ns_run(ns, "ip", "link", "set", dev, "up")
        yield client, jump, inner


@pytest.fixture
def world(network: tuple[str, str, str], tmp_path: Path) -> Iterator[World]:
    client_ns, jump_ns, inner_ns = network
    client_key = tmp_path / "client_ed25519"
    authorized = keygen(client_key)
    markers = tmp_path / "markers"
    markers.mkdir()
    jump = Sshd(jump_ns, JUMP_ADDR, "ymr-jump", secrets.token_hex(16), authorized, tmp_path / "jump")
    inner = Sshd(inner_ns, INNER_ADDR, "ymr-inner", secrets.token_hex(16), authorized, tmp_path / "inner")
    try:
        jump.start()
        inner.start()
        yield World(client_ns, jump, inner, client_key, markers, tmp_path)
    finally:
        inner.stop()
        jump.stop()


def test_client_cannot_reach_inner_directly(world: World) -> None:
    """The premise: only the jump host leads to the inner host."""
    direct = ns_run(world.client_ns, "ip", "route", "get", INNER_ADDR, check=False)
    assert direct.returncode != 0, direct.stdout


def test_command_runs_on_inner_and_only_there(world: World) -> None:
    done = world.yamori(world.config(), "remote", "run", "inner", "--", *world.marker_command())
    assert done.returncode == 7, done.stderr  # the remote exit code passes through
    assert done.stdout == "out\n"
    assert "err\n" in done.stderr and "Warning" not in done.stderr
    assert "target verified: inner" in done.stderr and "hostname ymr-inner" in done.stderr
    assert world.ran() == ["ran-ymr-inner"]
    # argv arrived as one argument, not split or interpreted by the remote shell
    assert (world.markers / "ran-ymr-inner").read_text() == "hello world; rm -rf /\n"


def test_jump_host_itself_is_a_target_too(world: World) -> None:
    done = world.yamori(world.config(), "remote", "run", "jump", "--", *world.marker_command())
    assert done.returncode == 7, done.stderr
    assert world.ran() == ["ran-ymr-jump"]


def test_chain_of_two_jump_hosts(world: World) -> None:
    """inner via hop2 via jump: hop2 is the jump sshd again, reached through itself, so the
    target's connection is tunnelled through two SSH connections."""
    config = world.config(extra=f"""
[[inventory.hosts]]
name = "hop2"
ssh = "root@{JUMP_ADDR}"
via = "jump"
host_key = "{world.jump.host_key}"
hostname = "{world.jump.hostname}"
identity = "{world.client_key}"
""")
    config.write_text(config.read_text().replace('via = "jump"\nhost_key = "' + world.inner.host_key,
                                                 'via = "hop2"\nhost_key = "' + world.inner.host_key))
    done = world.yamori(config, "remote", "run", "inner", "--", *world.marker_command())
    assert done.returncode == 7, done.stderr
    assert "(root@198.51.100.2:22 via jump -> hop2)" in done.stderr
    assert world.ran() == ["ran-ymr-inner"]


def test_dry_run_verifies_and_runs_nothing(world: World) -> None:
    done = world.yamori(world.config(), "remote", "run", "inner", "--dry-run", "--", *world.marker_command())
    assert done.returncode == 0, done.stderr
    assert "would run on inner: sh -c" in done.stderr
    assert world.ran() == []


def test_stdin_is_passed_not_argv(world: World) -> None:
    secret = "s3cr3t-" + secrets.token_hex(4)
    done = world.yamori(world.config(), "remote", "run", "inner", "--",
                        "sh", "-c", f"cat > {world.markers}/secret-$(uname -n)", input=secret)
    assert done.returncode == 0, done.stderr
    assert (world.markers / "secret-ymr-inner").read_text() == secret


def _refused(world: World, config: Path, *expected: str) -> None:
    done = world.yamori(config, "remote", "run", "inner", "--", *world.marker_command())
    assert done.returncode == 255, (done.stdout, done.stderr)
    for text in expected:
        assert text in done.stderr, done.stderr
    assert done.stdout == ""
    assert world.ran() == []  # nothing ran on the inner host, nor on the jump host


def test_inner_sshd_stopped_nothing_runs(world: World) -> None:
    world.inner.stop()
    _refused(world, world.config(), "inner:", "could not open a connection to root@198.51.100.2:22")
    check = world.yamori(world.config(), "remote", "check", "--json", "inner")
    assert check.returncode == 2
    (host,) = json.loads(check.stdout)["hosts"]
    assert (host["state"], host["failed_hop"]) == ("CRITICAL", "inner")
    assert host["route"] == "jump (root@192.0.2.2:22) -> inner (root@198.51.100.2:22)"


def test_inner_host_key_changed_nothing_runs(world: World) -> None:
    pinned = world.inner.host_key
    world.inner.stop()
    world.inner.new_host_key()
    world.inner.start()
    _refused(world, world.config(inner_key=pinned), "host key: expected ssh-ed25519 SHA256:",
             "inner is not who it should be", "Nothing was run")


def test_jump_host_key_changed_nothing_runs(world: World) -> None:
    config = world.config()
    world.jump.stop()
    world.jump.new_host_key()
    world.jump.start()
    _refused(world, config, "jump is not who it should be", "host key")


def test_hostname_different_nothing_runs(world: World) -> None:
    _refused(world, world.config(inner_hostname="db-primary"),
             "hostname: expected db-primary, answered ymr-inner")


def test_jump_host_answering_for_the_inner_one_is_refused(world: World) -> None:
    """Incident 12 in one config mistake: the inner host's address points back at the jump host
    and its key was pinned from there; the key matches, the hostname gives it away."""
    config = world.config(inner_key=world.jump.host_key)
    config.write_text(config.read_text().replace(f'ssh = "root@{INNER_ADDR}"', f'ssh = "root@{JUMP_ADDR}"'))
    _refused(world, config, "hostname: expected ymr-inner, answered ymr-jump")


def test_machine_id_different_nothing_runs(world: World) -> None:
    other = secrets.token_hex(16)
    _refused(world, world.config(inner_machine_id=other),
             f"machine-id: expected {other}, answered {world.inner.machine_id}")


def test_via_override_to_unknown_host_is_a_usage_error(world: World) -> None:
    done = world.yamori(world.config(), "remote", "run", "inner", "--via", "nowhere", "--", "true")
    assert done.returncode == 2
    assert "--via 'nowhere'" in done.stderr


def test_killed_inner_connection_is_an_error_not_a_jump_shell(world: World) -> None:
    config = world.config()
    command = ["sh", "-c", f"echo started > {world.markers}/started-$(uname -n); sleep 20; "
                           f"echo finished > {world.markers}/finished-$(uname -n)"]
    caller = subprocess.Popen(["ip", "netns", "exec", world.client_ns, sys.executable, "-m", "yamori.cli",
                               "-c", str(config), "remote", "run", "inner", "--", *command],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        deadline = time.monotonic() + 30
        while not (world.markers / "started-ymr-inner").exists():
            assert time.monotonic() < deadline, "the command never started"
            assert caller.poll() is None, caller.communicate()
            time.sleep(0.05)
        everything = world.inner.descendants()  # sessions and the command they run
        sessions = world.inner.session_pids()
        assert sessions
        for pid in sessions:  # the inner host's sshd session processes, by PID
            os.kill(pid, signal.SIGKILL)
        out, err = caller.communicate(timeout=30)
        for pid in set(everything) - set(sessions):  # the orphaned `sleep` need not finish
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    finally:
        if caller.poll() is None:
            caller.kill()
            caller.wait()
    assert caller.returncode == 255, (out, err)
    assert "connection dropped while the command ran" in err
    assert "whether it finished is unknown" in err
    assert not any(name.endswith("ymr-jump") for name in world.ran())


def test_check_reports_each_host(world: World) -> None:
    config = world.config(inner_hostname="db-primary", extra="""
[[inventory.hosts]]
name = "unpinned"
ssh = "root@198.51.100.9"
via = "jump"
""")
    done = world.yamori(config, "remote", "check", "--json")
    assert done.returncode == 2, done.stderr
    data = json.loads(done.stdout)
    assert data["state"] == "CRITICAL"
    hosts = {h["host"]: h for h in data["hosts"]}
    assert hosts["jump"]["state"] == "OK" and hosts["jump"]["hostname"] == "ymr-jump"
    assert hosts["inner"]["state"] == "CRITICAL"
    assert hosts["inner"]["mismatches"] == [{"what": "hostname", "expected": "db-primary", "answered": "ymr-inner"}]
    assert hosts["unpinned"]["state"] == "WARNING" and "remote pin unpinned" in hosts["unpinned"]["message"]
    ok = world.yamori(world.config(), "remote", "check", "inner", "jump")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.count("OK ") == 2


def test_pin_prints_the_line_after_confirmation(world: World) -> None:
    config = world.config()
    text = config.read_text().replace(f'host_key = "{world.inner.host_key}"\n', "")
    config.write_text(text)
    refused = world.yamori(config, "remote", "run", "inner", "--", "true")
    assert refused.returncode == 2 and "remote pin inner" in refused.stderr
    declined = world.yamori(config, "remote", "pin", "inner", input="n\n")
    assert declined.returncode == 1 and declined.stdout == ""
    pinned = world.yamori(config, "remote", "pin", "inner", input="y\n")
    assert pinned.returncode == 0, pinned.stderr
    assert pinned.stdout == f'host_key = "{world.inner.host_key}"\n'
    assert config.read_text() == text  # the config was not rewritten


def test_step_runner_verifies_and_runs_each_step(world: World) -> None:
    """The Runner runbooks use, run in the client namespace like the CLI."""
    script = f"import sys; sys.path[:0] = {sys.path!r}\n" + """
from yamori.config import load_config
from yamori.remote.route import resolve
from yamori.remote.runner import step_runner
import sys
run = step_runner(resolve(load_config(sys.argv[1]).inventory, "inner"))
print(run(["sh", "-c", "uname -n; cat"], "from stdin"))
try:
    run(["sh", "-c", "echo bad >&2; exit 3"], None)
except Exception as err:
    print(type(err).__name__, err)
"""
    done = subprocess.run(["ip", "netns", "exec", world.client_ns, sys.executable, "-c", script,
                           str(world.config())], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["ymr-inner", "from stdin",
                                        "RemoteError `sh -c 'echo bad >&2; exit 3'` on inner exited 3: bad"]


def raid_fixture(root: Path) -> Path:
    """A /sys, /dev and /proc tree like the operator's (two 1 TB disks, one failed, a new one)."""
    for name, serial, parts in (("sde", "Z1D5ABCD", 3), ("sdf", "WD-WCC3F7654321", 3), ("sdg", "WD-WCC6Y0123456", 0)):
        block = root / "sys" / "block" / name
        (block / "device").mkdir(parents=True)
        (block / "size").write_text("1953525168\n")
        (block / "device" / "serial").write_text(serial + "\n")
        for number in range(1, parts + 1):
            (block / f"{name}{number}").mkdir()
            (block / f"{name}{number}" / "partition").write_text(f"{number}\n")
    (root / "dev").mkdir()
    for name in ("sde", "sdf", "sdg"):  # device nodes: blank disk images wipefs reads (issue 10: blank check)
        with open(root / "dev" / name, "wb") as image:
            image.truncate(2 * 2**20)
    (root / "proc").mkdir()
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "incidents" / "mdstat-1-member-failed.txt"
    (root / "proc" / "mdstat").write_text(fixture.read_text())
    config = root / "remote-yamori.toml"
    config.write_text(f'[agent]\nsys = "{root / "sys"}"\ndev = "{root / "dev"}"\nproc = "{root / "proc"}"\n')
    return config


def test_raid_replace_runbook_runs_on_the_verified_host(world: World) -> None:
    remote_config = raid_fixture(world.tmp / "db")
    args = ["raid", "replace", "md1", "--failed", "sdf", "--new", "sdg", "--host", "inner",
            "--remote-yamori", f"{sys.executable} -m yamori.cli", "--remote-config", str(remote_config)]
    done = world.yamori(world.config(), *args)
    assert done.returncode == 0, done.stderr
    assert "target verified: inner" in done.stderr
    text = " ".join(done.stdout.split())
    assert "Replacement plan for md1 on ymr-inner (dry-run)" in text  # made by yamori on the inner host
    assert "sfdisk -d /dev/sde | sfdisk /dev/sdg" in text
    refused = world.yamori(world.config(inner_hostname="db-other"), *args)
    assert refused.returncode == 255 and "hostname: expected db-other, answered ymr-inner" in refused.stderr
    assert refused.stdout == ""
