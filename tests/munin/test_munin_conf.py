"""plugin-conf.d as munin-node applies it: fixture files for the rules, and Debian's own
`munin-run` (munin-node's code) as the oracle for the environment a plugin gets."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from yamori.munin.conf import merge_sections, parse_plugin_conf, read_plugin_conf_dir, resolve
from yamori.munin.runner import Invocation, argv, run

CONF_A = """\
# Debian ships this kind of file
[if_*]
env.A from-if-star
env.B from-if-star
user nobody
timeout 30

[if_eth*]            # sorts after [if_*]: applied first, so it wins over it
env.A from-if-eth-star
env.C c value with spaces

[if_eth0]
env.B exact
group adm, (no-such-group)

[*_temp]
env.warning 60
"""

CONF_B = """\
[if_eth0]
env.B exact-from-a-later-file
"""


def test_exact_section_then_wildcards_fill_gaps_in_reverse_sorted_order() -> None:
    first, problems = parse_plugin_conf(CONF_A, "a")
    second, more = parse_plugin_conf(CONF_B, "b")
    assert problems == more == []
    sections = merge_sections([first, second])
    eth0 = resolve("if_eth0", sections)
    assert dict(eth0.env) == {"A": "from-if-eth-star", "B": "exact-from-a-later-file", "C": "c value with spaces"}
    assert eth0.user == "nobody" and eth0.timeout == 30.0
    assert eth0.groups == ("adm", "(no-such-group)")
    wlan = resolve("if_wlan0", sections)
    assert dict(wlan.env) == {"A": "from-if-star", "B": "from-if-star"}
    assert resolve("cpu_temp", sections).env == {"warning": "60"}
    assert resolve("cpu", sections).env == {} and resolve("cpu", sections).user is None


def test_bad_lines_are_located_and_the_rest_is_kept() -> None:
    text = "user root\n[df]\nenv.x 1\nfrobnicate yes\nenv foo=bar\ntimeout soon\n[df]\n  env.y 2  \n"
    sections, problems = parse_plugin_conf(text, "/etc/munin/plugin-conf.d/local")
    assert [(p.line, p.message.split(":")[0].split(" (")[0]) for p in problems] == [
        (1, "setting before the first [section]"),
        (4, "unknown setting 'frobnicate'"),
        (5, "deprecated form 'env foo=...'"),
        (6, "timeout"),
    ]
    assert all(p.file == "/etc/munin/plugin-conf.d/local" for p in problems)
    assert resolve("df", merge_sections([sections])).env == {"x": "1", "y": "2"}


def test_directory_is_read_in_sorted_order_skipping_leftovers(tmp_path: Path) -> None:
    (tmp_path / "10-base").write_text("[load]\nenv.v base\nenv.w base\n")
    (tmp_path / "20-local").write_text("[load]\nenv.v local\n")
    (tmp_path / "20-local.dpkg-old").write_text("[load]\nenv.v old\n")
    (tmp_path / "30-local~").write_text("[load]\nenv.w backup\n")
    sections, problems = read_plugin_conf_dir(tmp_path)
    assert problems == []
    assert resolve("load", sections).env == {"v": "local", "w": "base"}


@pytest.mark.skipif(os.getuid() != 0, reason="munin-run switches to the plugin user, which needs root")
def test_same_environment_and_user_as_munin_run(world_readable: Path) -> None:
    """Debian's munin-run (munin-node's own Munin::Node::Service) and our runner give the
    plugin the same MUNIN_* variables, env.* values and user for one plugin-conf.d."""
    assert shutil.which("munin-run"), "munin-run missing: scripts/system-deps.sh installs munin-node"
    tmp_path = world_readable
    plugins, conf = tmp_path / "plugins", tmp_path / "conf.d"
    plugins.mkdir(mode=0o755)
    conf.mkdir()
    plugin = plugins / "if_eth0"
    plugin.write_text('#!/bin/sh\necho "who.value $(id -u)"\nenv | sort | sed "s/^/# /"\n')
    plugin.chmod(0o755)
    (conf / "a").write_text(CONF_A)
    (conf / "b").write_text(CONF_B)
    node_conf = tmp_path / "munin-node.conf"
    node_conf.write_text(f"log_file {tmp_path}/log\npid_file {tmp_path}/pid\nhost_name node.example\n")
    theirs = subprocess.run(["munin-run", "--config", str(node_conf), "--servicedir", str(plugins),
                             "--sconfdir", str(conf), "if_eth0"], capture_output=True, text=True, timeout=60,
                            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}, check=True).stdout
    sections, _ = read_plugin_conf_dir(conf)
    pc = resolve("if_eth0", sections)
    ours = run(Invocation(plugin, "if_eth0", pc.env, pc.user, pc.groups, 10.0,
                          fqdn="node.example")).stdout

    def view(text: str) -> dict[str, str]:
        lines = [line[2:] for line in text.splitlines() if line.startswith("# ")]
        wanted = ("MUNIN_", "A=", "B=", "C=", "FQDN=", "LANG=", "LC_ALL=", "PATH=")
        return dict(line.split("=", 1) for line in lines if line.startswith(wanted))

    assert theirs.splitlines()[0] == ours.splitlines()[0] == "who.value 65534"
    expected = view(theirs)
    expected.pop("MUNIN_MKTEMP")  # munin-node 2.0.73's own default is mangled by its build ("MKTEMP     = ")
    got = view(ours)
    got.pop("MUNIN_MKTEMP")
    assert got == expected


def test_command_wraps_the_plugin_as_munin_node_does() -> None:
    sections, _ = parse_plugin_conf("[sensors_*]\ncommand /usr/bin/nice -n 19 %c\n", "c")
    conf = resolve("sensors_fan", merge_sections([sections]))
    inv = Invocation(Path("/etc/munin/plugins/sensors_fan"), "sensors_fan", command=conf.command)
    assert argv(inv, "config") == ["/usr/bin/nice", "-n", "19", "/etc/munin/plugins/sensors_fan", "config"]
    assert argv(inv, None) == ["/usr/bin/nice", "-n", "19", "/etc/munin/plugins/sensors_fan"]
