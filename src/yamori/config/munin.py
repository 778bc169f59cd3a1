"""[munin]: run the operator's Munin plugins as probes, as munin-node would."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from .types import Duration, Section


class MuninPluginSettings(Section):
    path: Path = Field(description="the plugin's executable (e.g. /etc/munin/plugins/if_eth0)")
    name: str = Field("", description="plugin name used for plugin-conf.d and metric names; empty = the file name")
    env: dict[str, str] = Field(default_factory=dict,
                                description="extra environment; wins over env.* from plugin-conf.d")
    user: str = Field("", description="run as this user when yamori is root; empty = plugin-conf.d, else nobody")
    group: list[str] = Field(default_factory=list,
                             description="groups (first is the primary); '(name)' = optional; empty = plugin-conf.d")
    interval: Duration | None = Field(None, description="how often it runs; empty = [munin] interval")
    timeout: Duration | None = Field(
        None, description="kill it after this long; empty = plugin-conf.d, else [munin] timeout")


class MuninSettings(Section):
    plugin_dir: str = Field("", description="run every plugin in this directory, e.g. /etc/munin/plugins; "
                            "empty = only [[munin.plugins]]")
    plugin_conf_dir: str = Field(
        "", description="munin-node's plugin-conf.d, e.g. /etc/munin/plugin-conf.d (user, group, env.*, timeout; "
        "[name*] wildcards); empty = none")
    plugins: list[MuninPluginSettings] = Field(default_factory=list, description="plugins listed one by one")
    interval: Duration = Field(300.0, description="how often each plugin runs (Munin polls every 5 minutes)")
    timeout: Duration = Field(60.0, description="kill a plugin that runs longer (munin-node's default is 60s)")
    config_every: Duration = Field(3600.0, description="how often `plugin config` is re-read (also when "
                                   "fetch prints a field config did not declare)")
    plugin_state_dir: str = Field("", description="MUNIN_PLUGSTATE base; empty = <agent.state_dir>/munin/plugin-state")
    ignore: list[str] = Field(default_factory=list,
                              description="plugin names in plugin_dir not to run (shell patterns)")
