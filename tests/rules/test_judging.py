"""How the engine judges a stream of messages: hold times, hysteresis,
event rules, and messages that arrive out of order."""

import pytest

# --- hold time ------------------------------------------------------------------

@pytest.mark.parametrize("device,metric,value,hold", [
    ("electrical", "residual_current_ma", 350, 10),
    ("electrical", "cable_temp_c", 80, 30),
    ("hydrant", "pressure_mpa", 0.12, 60),
    ("water", "water_level_m", 0.5, 60),
])
def test_breach_shorter_than_the_hold_time_raises_nothing_and_held_long_enough_raises(world, device, metric,
                                                                                      value, hold):
    world.reading(device, 0, **{metric: value})
    world.reading(device, hold - 1, **{metric: value})
    assert world.active_conditions(device) == {}
    world.reading(device, hold, **{metric: value})
    assert len(world.active_conditions(device)) == 1


def test_a_breach_interrupted_by_a_normal_reading_starts_its_hold_time_again(world):
    world.reading("electrical", 0, residual_current_ma=350)
    world.reading("electrical", 5, residual_current_ma=250)   # back to normal: pending forgotten
    world.reading("electrical", 9, residual_current_ma=350)
    world.reading("electrical", 15, residual_current_ma=350)  # 15 s since the first, 6 s since the restart
    assert world.active_conditions("electrical") == {}
    world.reading("electrical", 19, residual_current_ma=350)
    assert world.active_conditions("electrical") == {"residual_current": 2}


def test_a_pending_breach_is_reported_as_held_in_the_event_outcome(world):
    result = world.reading("electrical", 0, residual_current_ma=350)
    assert "over the threshold for 0 s of 10 s" in world.device_event(result["event_id"]).outcome


# --- hysteresis -----------------------------------------------------------------------

def test_residual_current_hovering_around_300_ma_raises_one_alert_that_counts_the_repeats(world):
    world.reading("electrical", 0, residual_current_ma=300)
    world.reading("electrical", 10, residual_current_ma=300)  # held 10 s: raised
    for at, value in ((20, 295), (30, 301), (40, 290), (50, 305), (60, 280), (70, 270)):
        world.reading("electrical", at, residual_current_ma=value)
    alerts = world.alerts("electrical")
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.active and alert.cleared_at is None, "cleared above the clear threshold (270 mA)"
    assert alert.count == 3  # raised at 300, repeated at 301 and 305; 295/290/280/270 hold
    assert alert.last_value == 305
    assert (alert.first_at, alert.last_at) == (world.at(10), world.at(50))

    world.reading("electrical", 80, residual_current_ma=269)
    alert = world.alerts("electrical")[0]
    assert not alert.active and alert.cleared_at == world.at(80)
    assert world.incident().state == "open", "a cleared alarm does not close its incident"


def test_a_cleared_condition_must_hold_again_before_it_raises_again(world):
    world.reading("electrical", 0, residual_current_ma=400)
    world.reading("electrical", 10, residual_current_ma=400)
    world.reading("electrical", 20, residual_current_ma=100)
    world.reading("electrical", 30, residual_current_ma=400)
    assert world.active_conditions("electrical") == {}
    world.reading("electrical", 40, residual_current_ma=400)
    alerts = world.alerts("electrical")
    assert len(alerts) == 1 and alerts[0].active and alerts[0].count == 2  # the same open alert, raised again
    assert alerts[0].raised_at == world.at(40) and alerts[0].first_at == world.at(10)


def test_gas_concentration_between_clear_and_alarm_thresholds_stays_in_alarm(world):
    world.reading("gas", 0, gas_lel_pct=30)
    world.reading("gas", 5, gas_lel_pct=21)   # above the clear threshold 20: still in alarm
    assert world.active_conditions("gas") == {"gas_lel_high": 2}
    world.reading("gas", 10, gas_lel_pct=20)  # at the clear threshold: still in alarm
    assert world.active_conditions("gas") == {"gas_lel_high": 2}
    world.reading("gas", 15, gas_lel_pct=19)
    assert world.active_conditions("gas") == {}


def test_gas_above_50_percent_lel_escalates_the_incident_to_level_1(world):
    world.reading("gas", 0, gas_lel_pct=30)
    assert world.incident().level == 2
    world.reading("gas", 5, gas_lel_pct=55)
    assert world.active_conditions("gas") == {"gas_lel_high": 2, "gas_lel_very_high": 1}
    assert world.incident().level == 1
    world.reading("gas", 10, gas_lel_pct=46)  # above 45: level 1 holds
    assert world.active_conditions("gas") == {"gas_lel_high": 2, "gas_lel_very_high": 1}
    world.reading("gas", 15, gas_lel_pct=44)
    assert world.active_conditions("gas") == {"gas_lel_high": 2}


def test_low_hydrant_pressure_clears_only_at_or_above_its_clear_threshold(world):
    world.reading("hydrant", 0, pressure_mpa=0.12)
    world.reading("hydrant", 60, pressure_mpa=0.12)
    assert world.active_conditions("hydrant") == {"hydrant_pressure_low": 3}
    world.reading("hydrant", 70, pressure_mpa=0.145)  # above 0.14 but below 0.15
    assert world.active_conditions("hydrant") == {"hydrant_pressure_low": 3}
    world.reading("hydrant", 80, pressure_mpa=0.15)
    assert world.active_conditions("hydrant") == {}


# --- event rules -----------------------------------------------------------------------

EVENT_CASES = [
    # (device, raising kind, clearing kind or None, condition, level, opens an incident)
    ("smoke", "smoke_alarm", "alarm_cleared", "smoke", 2, True),
    ("smoke", "fault", "fault_cleared", "fault", 3, False),
    ("smoke", "low_battery", None, "low_battery", 4, False),
    ("smoke", "tamper", None, "tamper", 3, False),
    ("gas", "gas_alarm", "alarm_cleared", "gas_alarm", 2, True),
    ("gas", "fault", "fault_cleared", "fault", 3, False),
    ("electrical", "fault", "fault_cleared", "fault", 3, False),
    ("hydrant", "tamper", None, "hydrant_tampered", 3, False),
    ("uitd", "fire", "reset", "panel_fire", 2, True),
    ("uitd", "fault", "fault_cleared", "panel_fault", 3, False),
    ("uitd", "supervisory", "reset", "panel_supervisory", 3, False),
    ("uitd", "power_fault", "reset", "panel_power_fault", 3, False),
    ("camera", "flame_seen", None, "flame_seen", 2, True),
    ("camera", "exit_blocked", None, "exit_blocked", 3, False),
    ("camera", "control_room_unattended", None, "control_room_unattended", 3, False),
]


@pytest.mark.parametrize("device,kind,clear_kind,condition,level,opens", EVENT_CASES,
                         ids=[f"{c[0]}:{c[1]}" for c in EVENT_CASES])
def test_event_raises_its_condition_and_its_clearing_event_clears_it(world, device, kind, clear_kind, condition,
                                                                     level, opens):
    world.send(device, kind, 0)
    assert world.active_conditions(device) == {condition: level}
    assert len(world.incidents()) == (1 if opens else 0)
    if opens:
        assert world.incident().level == level
    if clear_kind:
        world.send(device, clear_kind, 5)
        assert world.active_conditions(device) == {}
        alert = world.alerts(device)[0]
        assert alert.cleared_at == world.at(5)


def test_panel_reset_clears_every_panel_condition_of_the_uitd(world):
    for at, kind in enumerate(("fire", "fault", "supervisory", "disabled", "power_fault")):
        world.send("uitd", kind, at)
    assert world.active_conditions("uitd") == {"panel_fire": 2, "panel_fault": 3, "panel_supervisory": 3,
                                               "panel_disabled": 3, "panel_power_fault": 3}
    world.send("uitd", "reset", 10)
    assert world.active_conditions("uitd") == {}


def test_a_clearing_event_without_an_alarm_raises_nothing(world):
    result = world.send("smoke", "alarm_cleared", 0)
    assert world.alerts("smoke") == []
    assert "already clear" in world.device_event(result["event_id"]).outcome


def test_a_message_no_rule_knows_is_stored_and_marked_as_such(world):
    result = world.send("smoke", "heartbeat", 0)
    event = world.device_event(result["event_id"])
    assert event.processed_at is not None and event.outcome == "no rule applies"
    assert world.alerts("smoke") == []


def test_a_repeated_alarm_counts_on_the_open_alert(world):
    for at in (0, 30, 60):
        world.send("smoke", "smoke_alarm", at)
    [alert] = world.alerts("smoke")
    assert alert.count == 3 and alert.first_at == world.at(0) and alert.last_at == world.at(60)


def test_the_same_message_delivered_twice_counts_once(world):
    world.send("smoke", "smoke_alarm", 0, msg_id="dup-1")
    again = world.send("smoke", "smoke_alarm", 0, msg_id="dup-1")
    assert again["status"] == "duplicate"
    assert world.alerts("smoke")[0].count == 1


# --- messages out of order -----------------------------------------------------------------

def test_an_older_alarm_cleared_arriving_late_does_not_clear_a_newer_alarm(world):
    world.send("smoke", "smoke_alarm", 10)
    result = world.send("smoke", "alarm_cleared", 5)  # sent before the alarm, delivered after
    assert world.active_conditions("smoke") == {"smoke": 2}
    assert "older than the last change" in world.device_event(result["event_id"]).outcome


def test_an_older_alarm_arriving_late_does_not_raise_again_after_the_clear(world):
    world.send("smoke", "smoke_alarm", 0)
    world.send("smoke", "alarm_cleared", 20)
    world.send("smoke", "smoke_alarm", 10)  # late
    assert world.active_conditions("smoke") == {}
    assert world.alerts("smoke")[0].count == 1


def test_an_older_reading_does_not_clear_an_active_condition(world):
    world.reading("electrical", 0, residual_current_ma=350)
    world.reading("electrical", 10, residual_current_ma=350)
    world.reading("electrical", 5, residual_current_ma=100)  # late
    assert world.active_conditions("electrical") == {"residual_current": 2}
    state = world.state("electrical", "residual_current")
    assert state.last_value == 350 and state.last_at == world.at(10)


def test_an_older_normal_reading_does_not_restart_a_pending_hold(world):
    world.reading("electrical", 20, residual_current_ma=350)
    world.reading("electrical", 15, residual_current_ma=100)  # late
    world.reading("electrical", 30, residual_current_ma=350)
    assert world.active_conditions("electrical") == {"residual_current": 2}


def test_messages_of_one_batch_are_judged_in_the_order_they_occurred(world):
    world.send_many([world.event("smoke", "alarm_cleared", 20), world.event("smoke", "smoke_alarm", 10)])
    assert world.active_conditions("smoke") == {}
    [alert] = world.alerts("smoke")
    assert alert.cleared_at == world.at(20)


def test_messages_posted_to_the_signed_webhook_reach_the_rules(world, client):
    resp = world.post_signed(client, [world.event("electrical", "telemetry", 0, {"residual_current_ma": 500}),
                                      world.event("electrical", "telemetry", 10, {"residual_current_ma": 500})])
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["accepted"] == 2
    assert world.active_conditions("electrical") == {"residual_current": 2}
