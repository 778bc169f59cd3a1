"""Generate the commented example config from the settings models (describe once)."""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from .model import Settings
from .types import format_duration, parse_duration

# Example entries for arrays of tables, whose defaults are empty lists.
ARRAY_EXAMPLES: dict[str, list[dict[str, Any]]] = {
    "inventory.networks": [{"name": "admin", "cidr": "203.0.113.0/28", "role": "admin"},
                           {"name": "app", "cidr": "10.20.0.0/24", "role": "lan"}],
    "inventory.hosts": [{"name": "db1", "addresses": ["10.20.0.11", "2001:db8::11"], "role": "database"},
                        {"name": "bastion", "ssh": "admin@203.0.113.5:22", "host_key":
                         "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUm"},
                        {"name": "db2", "addresses": ["10.20.0.12"], "ssh": "root@10.20.0.12", "via": "bastion",
                         "host_key":
                         "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywt",
                         "machine_id": "4f0c1d2e3b4a59687766554433221100"}],
    "inventory.services": [{"name": "postgresql", "host": "db1", "port": 5432, "proto": "tcp",
                            "allowed_from": ["admin", "app"]}],
    "alerts.rules": [{"name": "disk_full", "metric": "disk_used_percent", "warning": 90, "critical": 95,
                      "for": "5m", "advice": "free space or grow the filesystem"}],
    "network.paths": [{"name": "internet", "hops": ["gw", "pppoe", "isp-ref"],
                       "targets": ["https://www.example.org/", "tcp://203.0.113.10:5432"]}],
    "network.dns": [{"name": "db.example.org", "expect": ["203.0.113.10"],
                     "resolvers": ["192.0.2.53", "198.51.100.53"]}],
    "network.links": [{"interface": "ppp0", "capacity": "1Mbit"}],
    "environment.sensors": [{"name": "rack3-inlet", "kind": "http-json", "url": "http://192.0.2.40/sensor.json",
                             "rack": "rack3"}],
    "environment.ups": [{"name": "ups", "host": "127.0.0.1", "port": 3493, "username": "yamori",
                         "password_env": "YAMORI_NUT_PASSWORD"}],
    "capacity.rooms": [{"name": "dc1-rack12", "power_kva": 6.0, "power_factor": 0.9, "cooling_kw": 5.0,
                        "rack_units": 42, "floor_area_m2": 0.72, "floor_load_kg_m2": 1200, "fixed_kg": 150}],
    "capacity.models": [{"model": "R650", "watts": 450, "units": 1, "kg": 18}],
    "postgres.servers": [{"name": "db1", "dsn": "host=127.0.0.1 port=5432 user=yamori dbname=postgres"}],
    "munin.plugins": [{"path": "/usr/local/lib/munin/fan_speeds", "env": {"sensors": "fan1 fan2"}}],
    # the shape `yamori web passwd NAME` prints (this hash's password was random and thrown away)
    "web.users": [{"name": "alice",
                   "password_hash": "scrypt$16384$8$1$AC4Dt0qY8kC_x59iVGErXw$"
                                    "P3dQU5-_CRk669FcY8fJhpkAZVKTWZVtKfH5iQnwtTs"}],
}


def example_config() -> str:
    lines = ["# yamori.toml — every key with its default. All of it is optional.", ""]
    _emit_model(Settings, (), lines)
    return "\n".join(lines).rstrip() + "\n"


def _emit_model(model: type[BaseModel], path: tuple[str, ...], lines: list[str]) -> None:
    scalars: list[tuple[str, FieldInfo]] = []
    tables: list[tuple[str, FieldInfo, type[BaseModel]]] = []
    arrays: list[tuple[str, FieldInfo, type[BaseModel]]] = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        nested = _model_of(info.annotation)
        item = _list_item_model(info.annotation)
        optional = _optional_model(info.annotation)
        if optional is not None:
            arrays.append((key, info, optional))
        elif nested is not None:
            tables.append((key, info, nested))
        elif item is not None:
            arrays.append((key, info, item))
        else:
            scalars.append((key, info))
    if scalars and path:
        lines.append(f"[{'.'.join(path)}]")
        for key, info in scalars:
            if info.description:
                lines.append(f"# {info.description}")
            value = info.get_default(call_default_factory=True)
            lines.append(f"{_toml_key(key)} = {_toml_value(value, _is_duration(info))}")
        lines.append("")
    for key, _info, nested in tables:
        _emit_model(nested, (*path, key), lines)
    for key, info, item in arrays:
        dotted = ".".join((*path, key))
        header = f"[{dotted}]" if _optional_model(info.annotation) else f"[[{dotted}]]"
        if info.description:
            lines.append(f"# {info.description}")
        for example in ARRAY_EXAMPLES.get(dotted, [{}]):
            lines.append(f"# {header}")
            for field_name, field_info in item.model_fields.items():
                field_key = field_info.alias or field_name
                value = example.get(field_key, field_info.get_default(call_default_factory=True))
                if value is not None and repr(value) != "PydanticUndefined":
                    lines.append(f"# {_toml_key(field_key)} = {_toml_value(value, _is_duration(field_info))}")
        lines.append("")


def _model_of(annotation: Any) -> type[BaseModel] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _optional_model(annotation: Any) -> type[BaseModel] | None:
    """`Model | None` fields: tables that are absent unless configured."""
    args = typing.get_args(annotation)
    if type(None) in args:
        models = [a for a in args if _model_of(a) is not None]
        return models[0] if len(models) == 1 else None
    return None


def _is_duration(info: FieldInfo) -> bool:
    def marked(metadata: Any) -> bool:
        return any(getattr(m, "func", None) is parse_duration for m in metadata)

    # dict[str, Duration] keeps the marker on the value type
    args = typing.get_args(info.annotation)
    return marked(info.metadata) or any(marked(getattr(a, "__metadata__", ())) for a in args)


def _list_item_model(annotation: Any) -> type[BaseModel] | None:
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation)
        return _model_of(item)
    return None


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def _toml_value(value: Any, duration: bool = False) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if duration and isinstance(value, int | float):
        return json.dumps(format_duration(value))
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Path):
        return json.dumps(str(value))
    if isinstance(value, dict):
        inner = ", ".join(f"{_toml_key(k)} = {_toml_value(v, duration)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)
