"""The plugin protocol (config and fetch output), Munin's field types turned into rates as
rrdtool does, and warning/critical ranges as alert rules. Pure: text in, records out."""

from __future__ import annotations

import pytest

from yamori.alerts.rules import evaluate
from yamori.munin.protocol import MAX_FIELDS, Range, parse_config, parse_fetch, parse_range
from yamori.munin.rates import Previous, convert
from yamori.munin.reading import metric_name
from yamori.munin.rules import field_rules
from yamori.records import State

CONFIG = """\
graph_title Fan speeds
graph_vlabel RPM
graph_category sensors
graph_args --base 1000 -l 0
graph_info Fans of the chassis
fan1.label CPU fan
fan1.warning 1000:
fan1.critical 500:
fan1.min 0
fan-2.label Case fan
fan-2.type DERIVE
fan-2.max 10000
fan-2.warning :4000
fan-2.critical 600:5000
fan-2.cdef fan-2,60,/
fan-2.negative fan1
multigraph fans_detail.cpu
graph_title CPU fan detail
graph_category sensors
pwm.label PWM duty
pwm.type ABSOLUTE
"""


def test_config_graphs_fields_and_multigraph() -> None:
    graphs, problems = parse_config(CONFIG, "fans")
    assert problems == []
    assert [g.name for g in graphs] == ["fans", "fans_detail.cpu"]
    fans = graphs[0]
    assert (fans.title, fans.vlabel, fans.category, fans.args) == ("Fan speeds", "RPM", "sensors", "--base 1000 -l 0")
    assert list(fans.fields) == ["fan1", "fan_2"]  # munin's clean_fieldname: '-' becomes '_'
    fan2 = fans.fields["fan_2"]
    assert (fan2.type, fan2.max, fan2.cdef, fan2.negative) == ("DERIVE", 10000.0, "fan-2,60,/", "fan1")
    assert fan2.warning == Range(None, 4000.0) and fan2.critical == Range(600.0, 5000.0)
    assert fans.fields["fan1"].warning == Range(1000.0, None)
    assert graphs[1].fields["pwm"].type == "ABSOLUTE"


def test_garbage_is_located_and_the_rest_still_parsed() -> None:
    text = "graph_title T\nload.label load\n\x1b[31mhello world\nload.type PERCENT\nload.warning 1:two\nx.value 3\n"
    graphs, problems = parse_config(text, "evil", "evil config")
    assert [(p.file, p.line) for p in problems] == [("evil config", 3), ("evil config", 4), ("evil config", 5),
                                                    ("evil config", 6)]
    assert "hello world" in problems[0].message and "PERCENT" in problems[1].message
    assert graphs[0].fields["load"].label == "load"
    values, problems = parse_fetch("load.value 1.5\nload.value twelve\nrubbish\nu.value U\nt.value 1700000000:7\n",
                                   "evil")
    assert values == {"evil": {"load": 1.5, "u": None, "t": 7.0}}
    assert [(p.line, p.message[:20]) for p in problems] == [(2, "load.value: 'twelve'"), (3, "not 'field.value N':")]


def test_fetch_multigraph_sections() -> None:
    values, problems = parse_fetch("fan1.value 1200\nmultigraph fans_detail.cpu\npwm.value 55\n", "fans")
    assert problems == []
    assert values == {"fans": {"fan1": 1200.0}, "fans_detail.cpu": {"pwm": 55.0}}


@pytest.mark.parametrize(("text", "expected"), [
    ("92", Range(None, 92.0)), (":92", Range(None, 92.0)), ("10:", Range(10.0, None)),
    ("10:20", Range(10.0, 20.0)), ("-5:5", Range(-5.0, 5.0)), ("abc", None), (":", None),
])
def test_ranges(text: str, expected: Range | None) -> None:
    assert parse_range(text) == expected


def test_rates_as_rrdtool_computes_them() -> None:
    before = Previous(100.0, 1000.0)
    assert convert("GAUGE", 5.0, 1300.0, None, 600) == 5.0
    assert convert("DERIVE", 400.0, 1300.0, None, 600) is None              # first reading
    assert convert("DERIVE", 400.0, 1300.0, before, 600) == 1.0
    assert convert("DERIVE", 40.0, 1300.0, before, 600) == -0.2             # a reset goes negative...
    assert convert("DERIVE", 40.0, 1300.0, before, 600, low=0) is None      # ...unless min forbids it
    assert convert("DERIVE", 400.0, 1700.0, before, 600) is None            # gap over the heartbeat
    assert convert("ABSOLUTE", 600.0, 1300.0, before, 600) == 2.0
    assert convert("COUNTER", 400.0, 1300.0, before, 600) == 1.0
    # 32-bit wrap: 2^32 - 200 -> 100 is 300 counts
    assert convert("COUNTER", 100.0, 1300.0, Previous(2.0**32 - 200, 1000.0), 600) == 1.0
    # 64-bit wrap: adding 2^32 is not enough, so 2^64 in all (values exact in a double)
    wrapped = convert("COUNTER", 2.0**20, 1300.0, Previous(2.0**64 - 2.0**33, 1000.0), 600)
    assert wrapped == (2.0**33 + 2.0**20) / 300
    assert convert("GAUGE", 120.0, 1300.0, None, 600, high=100) is None     # outside max: unknown
    assert convert("GAUGE", None, 1300.0, None, 600) is None                # U


def test_metric_names() -> None:
    assert metric_name("if_eth0", "down") == "munin_if_eth0_down"
    assert metric_name("diskstats_latency.sda", "avgrdwait") == "munin_diskstats_latency_sda_avgrdwait"
    assert metric_name("sensors-é", "fan 1") == "munin_sensors___fan_1"


def test_warning_and_critical_ranges_become_rules() -> None:
    graphs, _ = parse_config(CONFIG, "fans")
    rules = {r.name: r for r in field_rules(graphs)}
    assert sorted(rules) == ["munin.fans.fan1.low", "munin.fans.fan_2.high", "munin.fans.fan_2.low"]
    low = rules["munin.fans.fan1.low"]
    assert (low.metric, low.labels, low.above, low.warning, low.critical) == (
        "munin_fans_fan1", {"plugin": "fans", "field": "fan1"}, False, 1000.0, 500.0)
    assert evaluate(low, 1500).state is State.OK
    assert evaluate(low, 900).state is State.WARNING
    assert evaluate(low, 400).state is State.CRITICAL
    high = rules["munin.fans.fan_2.high"]
    assert (high.warning, high.critical) == (4000.0, 5000.0)
    assert evaluate(high, 4500).state is State.WARNING and evaluate(high, 6000).state is State.CRITICAL
    assert rules["munin.fans.fan_2.low"].critical == 600.0 and rules["munin.fans.fan_2.low"].warning is None


def test_a_runaway_plugin_cannot_declare_unbounded_fields() -> None:
    text = "".join(f"f{i}.label f{i}\n" for i in range(MAX_FIELDS + 5))
    graphs, problems = parse_config(text, "runaway")
    assert len(graphs[0].fields) == MAX_FIELDS
    assert len(problems) == 5 and problems[0].line == MAX_FIELDS + 1
