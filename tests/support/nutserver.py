"""A real NUT server for tests: Debian's `upsd` with the `dummy-ups` driver, on a free loopback
port, with its own config directory and state path (NUT_CONFPATH, NUT_STATEPATH).

The dummy driver serves the variables of a `.dev` file and reads it again when its modification
time changes; `set_state()` rewrites the file (temp file + rename) with a strictly later mtime,
then waits until upsd answers with the new status. Both daemons are stopped by PID.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

NUT_LIB = Path("/lib/nut")


def nut_available() -> str | None:
    """None when upsd and dummy-ups are installed, else why not."""
    missing = [str(p) for p in (NUT_LIB / "upsd", NUT_LIB / "dummy-ups") if not p.exists()]
    return f"{', '.join(missing)} missing: install nut-server (scripts/system-deps.sh)" if missing else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NutServer:
    def __init__(self, base: Path, ups: str = "ups", password: str = "s3cret-nut") -> None:
        self.base = base
        self.ups = ups
        self.password = password
        self.port = _free_port()
        self.state = base / "state"
        self.dev = base / f"{ups}.dev"
        self._mtime = time.time()
        self._procs: list[subprocess.Popen[bytes]] = []

    def _env(self) -> dict[str, str]:
        return {**os.environ, "NUT_CONFPATH": str(self.base), "NUT_STATEPATH": str(self.state)}

    def write_config(self, variables: dict[str, str]) -> None:
        self.state.mkdir(mode=0o770, exist_ok=True)
        (self.base / "nut.conf").write_text("MODE=standalone\n")
        (self.base / "ups.conf").write_text(
            f'[{self.ups}]\n  driver = dummy-ups\n  port = {self.dev.name}\n  desc = "yamori test"\n'
            "  pollinterval = 1\n")
        (self.base / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {self.port}\n")
        users = self.base / "upsd.users"
        users.write_text(f"[yamori]\n  password = {self.password}\n")
        users.chmod(0o600)
        self.write_dev(variables)

    def write_dev(self, variables: dict[str, str]) -> None:
        temporary = self.dev.with_suffix(".tmp")
        temporary.write_text("".join(f"{k}: {v}\n" for k, v in variables.items()))
        # dummy-ups compares whole seconds: make every new state visibly newer
        self._mtime += 10
        os.utime(temporary, (self._mtime, self._mtime))
        temporary.replace(self.dev)

    def start(self) -> None:
        user = ["-u", "root"] if os.geteuid() == 0 else []
        log = (self.base / "nut.log").open("ab")
        driver = subprocess.Popen([str(NUT_LIB / "dummy-ups"), "-a", self.ups, "-F", *user], env=self._env(),
                                  stdout=log, stderr=subprocess.STDOUT)
        self._procs.append(driver)
        self._wait(lambda: any(p.name.startswith("dummy-ups") for p in self.state.iterdir()), "dummy-ups socket")
        self._procs.append(subprocess.Popen([str(NUT_LIB / "upsd"), "-F", *user], env=self._env(), stdout=log,
                                            stderr=subprocess.STDOUT))
        self._wait(lambda: self.variables().get("ups.status") not in (None, "WAIT"), "upsd answering")

    def variables(self) -> dict[str, str]:
        """LIST VAR through the protocol, independently of the code under test."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                s.sendall(f"LIST VAR {self.ups}\n".encode())
                data = b""
                while not data.endswith(f"END LIST VAR {self.ups}\n".encode()) and not data.startswith(b"ERR"):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
        except OSError:
            return {}
        result = {}
        for line in data.decode().splitlines():
            parts = line.split(" ", 3)
            if parts[0] == "VAR" and len(parts) == 4:
                result[parts[2]] = parts[3].strip('"')
        return result

    def set_state(self, variables: dict[str, str]) -> None:
        self.write_dev(variables)
        expected = {k: v for k, v in variables.items() if k.startswith(("ups.status", "battery.charge"))}
        self._wait(lambda: all(self.variables().get(k) == v for k, v in expected.items()), f"upsd serving {expected}")

    def _wait(self, condition: object, what: str, seconds: float = 15.0) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with suppress(OSError):
                if condition():  # type: ignore[operator]
                    return
            if any(p.poll() is not None for p in self._procs):
                break
            time.sleep(0.1)
        log = (self.base / "nut.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"NUT test server: no {what} within {seconds:g}s\n{log}")

    def stop(self) -> None:
        for process in reversed(self._procs):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)
        self._procs.clear()


@contextmanager
def nut_server(variables: dict[str, str], ups: str = "ups") -> Iterator[NutServer]:
    base = Path(tempfile.mkdtemp(prefix="yamori-nut-"))
    base.chmod(0o755)
    server = NutServer(base, ups)
    try:
        server.write_config(variables)
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
