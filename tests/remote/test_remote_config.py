"""The inventory contract for remote hosts, route resolution and the pure helpers."""

from __future__ import annotations

import base64
import shlex

import pytest

from yamori.config import ConfigError, parse_config
from yamori.remote.identity import answer, compare, shown
from yamori.remote.route import RemoteError, RouteError, command_line, resolve

# a well-formed ed25519 public key blob (type string + 32 key bytes)
KEY = "ssh-ed25519 " + base64.b64encode(b"\0\0\0\x0bssh-ed25519\0\0\0\x20" + bytes(range(32))).decode()


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "y.toml")
    return [str(p) for p in caught.value.problems]


def test_full_entry_is_accepted() -> None:
    settings = parse_config(f"""
[[inventory.hosts]]
name = "jump"
ssh = "admin@192.0.2.1:2222"
host_key = "{KEY} root@jump"

[[inventory.hosts]]
name = "db2"
ssh = "postgres@[2001:db8::2]"
via = "jump"
host_key = "{KEY}"
hostname = "db2.example.org"
machine_id = "0123456789abcdef0123456789abcdef"
identity = "/etc/yamori/id_ed25519"
""")
    route = resolve(settings.inventory, "db2")
    assert [h.name for h in route.jumps] == ["jump"]
    assert route.jumps[0].port == 2222 and route.jumps[0].user == "admin"
    assert route.target.address == "2001:db8::2" and route.target.port == 22
    assert route.target.hostname == "db2.example.org"
    assert resolve(settings.inventory, "jump").target.hostname == "jump"  # default: the inventory name
    assert route.describe() == "jump (admin@192.0.2.1:2222) -> db2 (postgres@[2001:db8::2]:22)"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("ssh", "root@192.0.2.1:99999", "port 99999 is out of range"),
    ("ssh", "root@host name", "expected user@address:port"),
    ("ssh", "-oProxyCommand=x", "expected user@address:port"),
    ("host_key", "ssh-ed25519", "expected 'ALGORITHM BASE64'"),
    ("host_key", "ssh-dss AAAAB3NzaC1kc3M=", "unknown host key type"),
    ("host_key", "ssh-ed25519 not*base64", "not valid base64"),
    ("host_key", "ssh-rsa " + KEY.split()[1], "the key data says 'ssh-ed25519', not 'ssh-rsa'"),
    ("machine_id", "0123", "expected 32 lowercase hex digits"),
    ("hostname", "db2; reboot", "not a host name"),
])
def test_malformed_fields_are_located(field: str, value: str, message: str) -> None:
    found = problems(f'\n[[inventory.hosts]]\nname = "a"\n{field} = "{value}"\n')
    assert len(found) == 1
    assert found[0].startswith(f"y.toml:4: inventory.hosts[0].{field}: ")
    assert message in found[0]


def test_via_naming_no_host_is_located() -> None:
    found = problems('[[inventory.hosts]]\nname = "a"\nssh = "192.0.2.1"\n\n'
                     '[[inventory.hosts]]\nname = "b"\nssh = "192.0.2.2"\nvia = "nowhere"\n')
    assert found == ["y.toml:8: inventory.hosts[1].via: names no host: no [[inventory.hosts]] has name = 'nowhere'"]


def test_via_loops_are_located() -> None:
    text = "".join(f'[[inventory.hosts]]\nname = "{n}"\nssh = "192.0.2.{i}"\nvia = "{v}"\n\n'
                   for i, (n, v) in enumerate([("a", "b"), ("b", "c"), ("c", "a")], start=1))
    found = problems(text + '[[inventory.hosts]]\nname = "d"\nssh = "192.0.2.9"\nvia = "d"\n')
    assert "y.toml:4: inventory.hosts[0].via: jump hosts form a loop: a -> b -> c -> a" in found
    assert "y.toml:9: inventory.hosts[1].via: jump hosts form a loop: b -> c -> a -> b" in found
    assert "y.toml:19: inventory.hosts[3].via: host 'd' cannot be its own jump host" in found


def test_jump_host_needs_ssh_and_names_are_unique() -> None:
    found = problems('[[inventory.hosts]]\nname = "a"\n\n[[inventory.hosts]]\nname = "b"\nssh = "192.0.2.2"\n'
                     'via = "a"\n\n[[inventory.hosts]]\nname = "a"\n')
    assert "y.toml:7: inventory.hosts[1].via: jump host 'a' has no `ssh` address" in found
    assert "y.toml:10: inventory.hosts[2].name: host 'a' is declared twice (also hosts[0])" in found


def test_route_needs_pinned_keys_everywhere() -> None:
    settings = parse_config(f'[[inventory.hosts]]\nname = "j"\nssh = "192.0.2.1"\n\n'
                            f'[[inventory.hosts]]\nname = "t"\nssh = "198.51.100.2"\nvia = "j"\n'
                            f'host_key = "{KEY}"\n\n[[inventory.hosts]]\nname = "x"\n')
    with pytest.raises(RouteError, match="'j' has no pinned host_key: run `yamori remote pin j`"):
        resolve(settings.inventory, "t")
    with pytest.raises(RouteError, match="'j' has no pinned host_key"):
        resolve(settings.inventory, "t", require_keys=False)  # pinning t still needs a verified jump
    with pytest.raises(RouteError, match="no host 'nope'"):
        resolve(settings.inventory, "nope")
    with pytest.raises(RouteError, match="'x' has no `ssh` address"):
        resolve(settings.inventory, "x")
    with pytest.raises(RouteError, match="--via 't' is the target itself"):
        resolve(settings.inventory, "t", via="t")


def test_command_line_quotes_every_argument() -> None:
    argv = ["sh", "-c", "echo $HOME; rm -rf /", "it's", "", "a b"]
    line = command_line(argv)
    assert shlex.split(line) == argv
    with pytest.raises(RemoteError):
        command_line([])
    with pytest.raises(RemoteError):
        command_line(["echo", "a\0b"])


def test_answers_are_compared_exactly_and_shown_safely() -> None:
    settings = parse_config(f'[[inventory.hosts]]\nname = "db2"\nssh = "192.0.2.1"\nhost_key = "{KEY}"\n'
                            'machine_id = "0123456789abcdef0123456789abcdef"\n')
    target = resolve(settings.inventory, "db2").target
    assert answer(b"db2\n") == "db2"
    assert compare(target, answer(b"db2\n"), answer(b"0123456789abcdef0123456789abcdef\n")) == []
    wrong = compare(target, answer(b"db2\r\n"), None)
    assert [m.what for m in wrong] == ["hostname", "machine-id"]
    assert wrong[0].answered == "db2\\x0d" and wrong[1].answered == "(no answer)"
    assert shown("\x1b[2Jx") == "\\x1b[2Jx"
    assert len(answer(b"a" * 10_000)) == 256
