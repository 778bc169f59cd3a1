"""[environment]: the machine room's air (ASHRAE envelope), UPSes (NUT), disks' health (SMART)
and the software's support lifecycle (distribution, PostgreSQL major)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from .types import Duration, Section

_NAME_HELP = "use letters, digits, '.', '-' and '_' only, e.g. rack3-inlet"
_KEY_HELP = "a JSON key (or dotted path such as sensors.t1) of letters, digits, '.', '-' and '_'"


def _valid_name(value: str) -> str:
    if not value or len(value) > 64 or not all(c.isalnum() or c in ".-_" for c in value):
        raise ValueError(_NAME_HELP)
    return value


class SensorEntry(Section):
    name: str = Field(description="the sensor's name, used as the finding's subject, e.g. rack3-inlet")
    kind: Literal["http-json", "file", "command"] = Field(
        description="http-json: GET url for a JSON object; file: a JSON file; command: run it, read JSON on stdout")
    url: str | None = Field(None, description="http-json: the URL (http:// or https://)")
    path: Path | None = Field(None, description="file: the JSON file (rewritten by whatever reads the sensor)")
    command: list[str] | str | None = Field(
        None, description="command: program and arguments (a list, or a string split like a shell would; "
                          "no shell is involved)")
    temperature_key: str = Field("temperature", description="key of the dry-bulb temperature in °C")
    humidity_key: str = Field("humidity", description="key of the relative humidity in %")
    rack: str = Field("", description="the rack the sensor sits in (a label on its metrics)")

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        return _valid_name(value)

    @field_validator("temperature_key", "humidity_key")
    @classmethod
    def _check_key(cls, value: str) -> str:
        if not value or not all(c.isalnum() or c in ".-_" for c in value):
            raise ValueError(_KEY_HELP)
        return value

    @model_validator(mode="after")
    def _source_given(self) -> SensorEntry:
        needed = {"http-json": "url", "file": "path", "command": "command"}[self.kind]
        if getattr(self, needed) in (None, "", []):
            raise ValueError(f"kind = \"{self.kind}\" needs {needed}")
        if self.kind == "http-json" and not str(self.url).startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return self


class UpsEntry(Section):
    name: str = Field(description="the UPS's name on the NUT server (upsc NAME@host), e.g. ups")
    host: str = Field("127.0.0.1", description="the NUT server (upsd)")
    port: int = Field(3493, ge=1, le=65535, description="upsd's port")
    username: str | None = Field(None, description="NUT user (upsd.users); none = anonymous")
    password_env: str | None = Field(None, description="environment variable holding that user's password")

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        return _valid_name(value)

    @field_validator("host", "username", "password_env")
    @classmethod
    def _one_word(cls, value: str | None) -> str | None:
        # these travel in the NUT line protocol: a space or newline would be a second command
        if value is not None and (not value or any(c.isspace() or not c.isprintable() for c in value)):
            raise ValueError("must be one word without spaces or control characters")
        return value


class SmartSettings(Section):
    enabled: bool = Field(True, description="read disks' SMART data with smartctl --json when smartctl is installed")
    interval: Duration = Field(3600.0, description="how often SMART data is read")
    timeout: Duration = Field(60.0, description="how long one round over every disk may take")
    devices: list[str] = Field([], description="disks to read, e.g. [\"/dev/sda\", \"/dev/nvme0\"]; "
                                               "empty = what `smartctl --scan` finds")
    smartctl: str = Field("smartctl", description="the smartctl program (smartmontools 7 or later)")
    temperature_warning: float = Field(55.0, description="WARNING when a disk is at least this warm (°C)")


class LifecycleSettings(Section):
    enabled: bool = Field(True, description="check the distribution's and PostgreSQL's end of support")
    interval: Duration = Field(86400.0, description="how often support dates are checked")
    distro_info: Path = Field(Path("/usr/share/distro-info"), description="directory of distro-info-data's "
                                                                        "debian.csv and ubuntu.csv")
    os_release: Path = Field(Path("/etc/os-release"), description="the os-release file naming the distribution")
    warning_days: int = Field(180, ge=0, description="WARNING this many days before support ends")
    postgres_versions: list[str] = Field(
        [], description="PostgreSQL major versions to check (e.g. [\"15\"]); empty = the majors the "
                        "[postgres] servers run and those installed under postgres_lib")
    postgres_lib: Path = Field(Path("/usr/lib/postgresql"),
                               description="where Debian installs PostgreSQL server majors (15/bin/postgres)")


class EnvironmentSettings(Section):
    equipment_class: Literal["A1", "A2", "A3", "A4"] = Field(
        "A1", alias="class", description="ASHRAE equipment class of the servers (A1..A4): sets the allowable envelope")
    interval: Duration = Field(60.0, description="how often sensors and UPSes are read")
    timeout: Duration = Field(10.0, description="how long reading one sensor or UPS may take")
    hwmon_humidity: bool = Field(True, description="also read humidity sensors the kernel exposes in hwmon")
    on_battery_grace: Duration = Field(30.0, description="a UPS on battery longer than this is CRITICAL")
    shutdown_needs: Duration = Field(600.0, description="the time an orderly shutdown takes: a UPS runtime "
                                                        "below it is CRITICAL")
    low_charge: float = Field(50.0, ge=0, le=100, description="WARNING when battery charge is below this % "
                                                               "(CRITICAL below half of it)")
    self_test_max_age: Duration = Field(90 * 86400.0, description="WARNING when the UPS's last self-test is "
                                                                  "older than this (where the UPS reports its date)")
    sensors: list[SensorEntry] = Field([], description="temperature/humidity sensors declared by the operator")
    ups: list[UpsEntry] = Field([], description="UPSes behind a NUT server (upsd)")
    smart: SmartSettings = Field(default_factory=SmartSettings)
    lifecycle: LifecycleSettings = Field(default_factory=LifecycleSettings)

    @model_validator(mode="after")
    def _unique_names(self) -> EnvironmentSettings:
        for kind, names in (("sensors", [s.name for s in self.sensors]), ("ups", [u.name for u in self.ups])):
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                raise ValueError(f"{kind}: names must be unique, repeated: {', '.join(duplicates)}")
        return self
