"""The default rules (migration 0002) at, just below and just above every
threshold, held for the rule's hold time: which conditions become alerts,
at which level, and which of them open an incident."""

import pytest

# (world device, metric, hold seconds, value, {condition: level} expected once held)
CASES = [
    # residual current: >= 300 mA for 10 s (GB 14287.2), level 2
    ("electrical", "residual_current_ma", 10, 299, {}),
    ("electrical", "residual_current_ma", 10, 300, {"residual_current": 2}),
    ("electrical", "residual_current_ma", 10, 301, {"residual_current": 2}),
    # cable temperature: >= 70 °C for 30 s (GB 14287.3), level 2
    ("electrical", "cable_temp_c", 30, 69, {}),
    ("electrical", "cable_temp_c", 30, 70, {"cable_temp": 2}),
    ("electrical", "cable_temp_c", 30, 71, {"cable_temp": 2}),
    # municipal hydrant: < 0.14 MPa level 3, < 0.10 MPa level 2, for 60 s (GB 50974)
    ("hydrant", "pressure_mpa", 60, 0.141, {}),
    ("hydrant", "pressure_mpa", 60, 0.14, {}),
    ("hydrant", "pressure_mpa", 60, 0.139, {"hydrant_pressure_low": 3}),
    ("hydrant", "pressure_mpa", 60, 0.101, {"hydrant_pressure_low": 3}),
    ("hydrant", "pressure_mpa", 60, 0.10, {"hydrant_pressure_low": 3}),
    ("hydrant", "pressure_mpa", 60, 0.099, {"hydrant_pressure_low": 3, "hydrant_pressure_critical": 2}),
    # combustible gas: 25 %LEL level 2, 50 %LEL level 1, at once (GB/T 50493)
    ("gas", "gas_lel_pct", 0, 24, {}),
    ("gas", "gas_lel_pct", 0, 25, {"gas_lel_high": 2}),
    ("gas", "gas_lel_pct", 0, 26, {"gas_lel_high": 2}),
    ("gas", "gas_lel_pct", 0, 49, {"gas_lel_high": 2}),
    ("gas", "gas_lel_pct", 0, 50, {"gas_lel_high": 2, "gas_lel_very_high": 1}),
    ("gas", "gas_lel_pct", 0, 51, {"gas_lel_high": 2, "gas_lel_very_high": 1}),
    # fire water tank / pool: level < 1.0 m, pressure < 0.10 MPa, for 60 s, level 3
    ("water", "water_level_m", 60, 1.01, {}),
    ("water", "water_level_m", 60, 1.0, {}),
    ("water", "water_level_m", 60, 0.99, {"water_level_low": 3}),
    ("water", "pressure_mpa", 60, 0.101, {}),
    ("water", "pressure_mpa", 60, 0.10, {}),
    ("water", "pressure_mpa", 60, 0.099, {"water_pressure_low": 3}),
]
OPENS_INCIDENT = {"residual_current", "cable_temp", "gas_lel_high", "gas_lel_very_high"}


def _id(case):
    device, metric, hold, value, expected = case
    return f"{metric}={value}@{device}->" + ("+".join(sorted(expected)) or "nothing")


@pytest.mark.parametrize("device,metric,hold,value,expected", CASES, ids=[_id(c) for c in CASES])
def test_reading_held_for_the_hold_time_raises_exactly_the_breached_conditions(world, device, metric, hold, value,
                                                                               expected):
    world.reading(device, 0, **{metric: value})
    if hold:
        assert world.active_conditions(device) == {}, "raised before the hold time had passed"
        world.reading(device, hold, **{metric: value})
    assert world.active_conditions(device) == expected
    for alert in world.open_alerts(device):
        assert alert.last_value == pytest.approx(value)
        assert alert.first_at == world.at(hold)
    incidents = world.incidents()
    if set(expected) & OPENS_INCIDENT:
        assert len(incidents) == 1 and incidents[0].level == min(expected.values())
    else:
        assert incidents == []


@pytest.mark.parametrize("rule_key,metric,threshold,clear,hold,level", [
    ("residual_current", "residual_current_ma", 300, 270, 10, 2),
    ("cable_temp", "cable_temp_c", 70, 65, 30, 2),
    ("hydrant_pressure_low", "pressure_mpa", 0.14, 0.15, 60, 3),
    ("hydrant_pressure_critical", "pressure_mpa", 0.10, 0.11, 60, 2),
    ("gas_lel_high", "gas_lel_pct", 25, 20, 0, 2),
    ("gas_lel_very_high", "gas_lel_pct", 50, 45, 0, 1),
    ("water_level_low", "water_level_m", 1.0, 1.1, 60, 3),
    ("water_pressure_low", "pressure_mpa", 0.10, 0.11, 60, 3),
])
def test_default_rules_carry_the_standards_numbers(world, rule_key, metric, threshold, clear, hold, level):
    rule = world.default_rule(rule_key)
    assert (rule.metric, rule.threshold, rule.clear_threshold, rule.duration_s, rule.level) == \
           (metric, pytest.approx(threshold), pytest.approx(clear), hold, level)
