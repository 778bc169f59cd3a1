"""A real OpenSSH sshd for tests, in a network namespace the test created, with its own UTS
namespace (its own hostname) and mount namespace (its own /etc/machine-id, bind-mounted there
only), its own config, host key and authorized_keys. Stopped by PID.

The machine's own sshd is never started or touched: each instance runs `sshd -D -f <own config>`
listening on one documentation address inside the test's namespace.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SSHD = "/usr/sbin/sshd"


def can_run_sshd() -> str | None:
    """None when the tests can run sshd, else why not (for a skip reason)."""
    if os.geteuid() != 0:
        return "sshd in network namespaces needs root (CI runs as root)"
    missing = [tool for tool in (SSHD, "ssh-keygen", "unshare") if shutil.which(tool) is None]
    if missing:
        return f"missing {', '.join(missing)}: run scripts/system-deps.sh (openssh-server, openssh-client)"
    return None


def keygen(path: Path, kind: str = "ed25519") -> str:
    """A new key pair at path / path.pub; returns 'TYPE BASE64' of the public key."""
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "yamori-test", "-f", str(path)],
                   check=True, capture_output=True, timeout=30)
    parts = path.with_suffix(path.suffix + ".pub").read_text().split()
    return f"{parts[0]} {parts[1]}"


@dataclass
class Sshd:
    ns: str
    address: str
    hostname: str
    machine_id: str
    authorized_key: str  # 'TYPE BASE64' of the client key
    root: Path  # this instance's private directory
    host_key: str = ""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)
        if not self.host_key:
            self.host_key = keygen(self.root / "host_ed25519")

    def new_host_key(self) -> str:
        """Replace the host key (a reinstalled machine, or another one at its address)."""
        for suffix in ("", ".pub"):
            (self.root / f"host_ed25519{suffix}").unlink(missing_ok=True)
        self.host_key = keygen(self.root / "host_ed25519")
        return self.host_key

    def start(self) -> None:
        assert self.process is None, "already started"
        # sshd refuses to start without its privilege separation directory
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        (self.root / "authorized_keys").write_text(self.authorized_key + "\n")
        (self.root / "machine-id").write_text(self.machine_id + "\n")
        config = self.root / "sshd_config"
        config.write_text("\n".join([
            f"ListenAddress {self.address}:22",
            f"HostKey {self.root / 'host_ed25519'}",
            f"PidFile {self.root / 'sshd.pid'}",
            f"AuthorizedKeysFile {self.root / 'authorized_keys'}",
            "UsePAM no",
            "StrictModes no",
            "PermitRootLogin prohibit-password",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "AllowTcpForwarding yes",
            "PrintMotd no",
            "LogLevel VERBOSE",
            "",
        ]))
        log = (self.root / "sshd.log").open("wb")
        script = (f"hostname {self.hostname} && mount --bind {self.root / 'machine-id'} /etc/machine-id "
                  f"&& exec {SSHD} -D -e -f {config}")
        # ip netns exec, unshare and sh all exec: the Popen PID is sshd's own
        self.process = subprocess.Popen(["ip", "netns", "exec", self.ns, "unshare", "--uts", "--mount",
                                         "sh", "-c", script], stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if b"Server listening" in (self.root / "sshd.log").read_bytes():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        text = (self.root / "sshd.log").read_text(errors="replace")
        self.stop()
        raise RuntimeError(f"sshd in {self.ns} did not start: {text[-2000:]}")

    def descendants(self) -> list[int]:
        """PIDs of every process below this sshd (connections, sessions, commands)."""
        import psutil

        if self.process is None:
            return []
        try:
            return [p.pid for p in psutil.Process(self.process.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def session_pids(self) -> list[int]:
        """The per-connection sshd processes (not the commands they run), innermost first."""
        import psutil

        found = []
        for pid in self.descendants():
            try:
                if psutil.Process(pid).name() == "sshd":
                    found.append(pid)
            except psutil.NoSuchProcess:
                continue
        return list(reversed(found))

    def stop(self) -> None:
        if self.process is None:
            return
        pids = self.descendants()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        for pid in pids:  # sessions outlive the listener; end them and their commands too
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process = None
