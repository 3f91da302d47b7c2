"""Judging one device message: which rules apply, and what each decides.

The engine is pure bookkeeping over ConditionState; it returns decisions
("raise", "clear") and leaves alerts and incidents to their own services.
"""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_

from api.extensions import db
from api.rules.models import ConditionState, Rule

SPECIFICITY = {"site": 3, "category": 2, "default": 1}


@dataclass
class Decision:
    action: str  # raise | clear | hold
    rule: Rule
    value: float = None
    note: str = ""


def rules_for(device_type, site):
    """The active rules for a device type at a site: per rule key, the most
    specific of site override, site-category override and default."""
    rows = Rule.query.filter(
        Rule.active.is_(True),
        Rule.device_type == device_type,
        or_(Rule.site_id.is_(None), Rule.site_id == site.id),
        or_(Rule.site_category.is_(None), Rule.site_category == site.category),
    ).all()
    best = {}
    for rule in rows:
        rank = 3 if rule.site_id else 2 if rule.site_category else 1
        if rule.rule_key not in best or rank > best[rule.rule_key][0]:
            best[rule.rule_key] = (rank, rule)
    return [rule for _, rule in sorted(best.values(), key=lambda pair: pair[1].rule_key)]


def _state(device_id, condition):
    state = ConditionState.query.filter_by(device_id=device_id, condition=condition).one_or_none()
    if state is None:
        state = ConditionState(device_id=device_id, condition=condition, active=False)
        db.session.add(state)
    return state


def judge(event, rules):
    """Decisions for one stored event, updating the per-condition state."""
    decisions = []
    for rule in rules:
        if rule.source == "event":
            decision = _judge_event(event, rule)
        elif rule.metric in (event.values or {}):
            decision = _judge_metric(event, rule)
        else:
            decision = None
        if decision is not None:
            decisions.append(decision)
    return decisions


def _is_stale(state, at):
    return state.last_at is not None and at < state.last_at


def _judge_event(event, rule):
    raises = event.kind in (rule.raise_on or [])
    clears = event.kind in (rule.clear_on or [])
    if not (raises or clears):
        return None
    state = _state(event.device_id, rule.condition)
    if _is_stale(state, event.occurred_at):
        return Decision("hold", rule, note="older than the last change; not applied")
    state.last_at = event.occurred_at
    if raises:
        state.active = True
        return Decision("raise", rule)
    was_active = state.active
    state.active = False
    return Decision("clear", rule) if was_active else Decision("hold", rule, note="already clear")


def _breaches(rule, value):
    return value >= rule.threshold if rule.comparison == "gte" else value < rule.threshold


def _recovered(rule, value):
    """Past the clear threshold (hysteresis), so a hovering value does not flap."""
    edge = rule.clear_threshold if rule.clear_threshold is not None else rule.threshold
    return value < edge if rule.comparison == "gte" else value >= edge


def _judge_metric(event, rule):
    try:
        value = float(event.values[rule.metric])
    except (TypeError, ValueError):
        return None
    state = _state(event.device_id, rule.condition)
    if _is_stale(state, event.occurred_at):
        return Decision("hold", rule, value, "older than the last reading; not applied")
    state.last_at, state.last_value = event.occurred_at, value
    if state.active:
        if _recovered(rule, value):
            state.active, state.pending_since = False, None
            return Decision("clear", rule, value)
        return Decision("raise", rule, value) if _breaches(rule, value) else Decision("hold", rule, value)
    if not _breaches(rule, value):
        state.pending_since = None
        return None
    if state.pending_since is None:
        state.pending_since = event.occurred_at
    held = event.occurred_at - state.pending_since
    if held >= timedelta(seconds=rule.duration_s):
        state.active, state.pending_since = True, None
        return Decision("raise", rule, value)
    return Decision("hold", rule, value, f"over the threshold for {int(held.total_seconds())} s of {rule.duration_s} s")
