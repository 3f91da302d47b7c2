// #/incidents/<id>: the ALARM screen while the incident is open and nobody has
// acknowledged it (full screen, level colour, three big buttons), otherwise the
// incident screen: what, where, the response so far, the timeline, who was told,
// and the actions left. Every action goes through the outbox.
import { cachedGet, cachedOnly } from '../api.js';
import { markSeen } from '../alarms.js';
import { asOf, errorBox, fill, h, levelTag, loading, named, stateTag, time } from '../dom.js';
import { formatDuration, t } from '../i18n.js';
import { enqueue, forIncident, onOutboxChange } from '../outbox.js';
import { canAct, knownMe, loadMe } from '../session.js';
import { outboxItem } from './outbox.js';

const REASONS = ['cooking', 'steam', 'smoking', 'dust', 'insects', 'device_fault', 'other'];
const OUTCOMES = ['false_alarm', 'real_fire', 'test', 'unknown'];
const REFRESH_MS = 15000;
const detailWanted = new Set(); // "details" tapped on an alarm screen (this page's life)

const what = (inc) => {
  const conditions = [...new Set((inc.alerts || []).map((a) => named('conditions', a.condition)))];
  return conditions.join(' · ') || t('alarm.label');
};
const where = (inc) => [...new Set((inc.alerts || []).map((a) => a.location_text).filter(Boolean))].join('、');

export function incident(view, ctx) {
  const id = ctx.params[0];
  view.title = t('incident.title', { id });
  const path = `/incidents/${id}`;
  let answer = null; // {data, at, stale}
  let failure = null;
  let mine = []; // this incident's outbox items
  let me = null;
  let picking = false; // the false-alarm reasons are showing
  let notices = null; // who was told, once asked for
  let gone = false;
  let drawn = ''; // what the screen shows now, to redraw only on a change
  const choice = { outcome: '', reason: '', note: '' }; // the outcome form survives redraws

  async function load() {
    try {
      answer = await cachedGet(path);
      failure = null;
    } catch (err) {
      if (err.status === 401) return;
      failure = err;
    }
    draw(false);
  }

  async function reloadOutbox() {
    const before = mine.filter((i) => i.state === 'sent').length;
    mine = await forIncident(id);
    draw(false);
    if (mine.filter((i) => i.state === 'sent').length !== before) load(); // the server's new state
  }

  function draw(force = true) {
    if (gone) return;
    const signature = JSON.stringify([answer && answer.data, answer && answer.stale, mine, failure && failure.message, picking]);
    if (!force && signature === drawn) {
      const shown = view.querySelector('.asof'); // only the time changed
      if (shown && answer) shown.replaceWith(asOf(answer));
      return;
    }
    drawn = signature;
    if (!answer) {
      view.replaceChildren(h('h1', { tabindex: '-1' }, view.title), failure ? errorBox(failure, load) : loading());
      return;
    }
    const inc = answer.data;
    const acting = mine.some((i) => i.state !== 'failed');
    const alarm = inc.state === 'open' && canAct(me) && !acting && !detailWanted.has(id);
    const focusHeading = view.classList.contains('alarm-screen') !== alarm;
    view.className = alarm ? `alarm-screen level-${inc.level}` : '';
    fill(view, alarm ? alarmScreen(inc) : detail(inc));
    document.documentElement.classList.toggle('alarming', alarm);
    if (alarm) markSeen(inc.id);
    if (focusHeading) view.querySelector('h1').focus();
  }

  // --- the alarm screen ---------------------------------------------------
  function alarmScreen(inc) {
    const device = (inc.alerts || [])[0];
    const body = picking
      ? [
          h('h2', { id: 'reason-title' }, t('alarm.reasonTitle')),
          h(
            'div',
            { class: 'reasons', role: 'group', 'aria-labelledby': 'reason-title' },
            REASONS.map((reason) =>
              h(
                'button',
                {
                  type: 'button',
                  class: 'btn btn-reason',
                  'data-reason': reason,
                  onclick: () => act('close', { outcome: 'false_alarm', reason }),
                },
                t(`reasons.${reason}`),
              ),
            ),
          ),
          h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => ((picking = false), draw()) }, t('alarm.cancel')),
        ]
      : [
          h(
            'div',
            { class: 'alarm-buttons' },
            h(
              'button',
              { type: 'button', class: 'btn btn-alarm btn-check', 'data-action': 'acknowledge', onclick: () => act('acknowledge') },
              h('span', null, t('alarm.check')),
              h('small', null, t('alarm.checkHint')),
            ),
            h(
              'a',
              // a link: tel:119 opens whatever else happens; the confirmation is queued on the way
              { href: 'tel:119', class: 'btn btn-alarm btn-fire', 'data-action': 'confirm-fire', onclick: () => act('confirm-fire') },
              h('span', null, t('alarm.fire')),
              h('small', null, t('alarm.fireHint')),
            ),
            h(
              'button',
              { type: 'button', class: 'btn btn-alarm btn-false', 'data-action': 'false-alarm', onclick: () => ((picking = true), draw()) },
              h('span', null, t('alarm.falseAlarm')),
              h('small', null, t('alarm.falseAlarmHint')),
            ),
          ),
          h(
            'button',
            { type: 'button', class: 'btn btn-ghost', onclick: () => (detailWanted.add(id), draw()) },
            t('alarm.details'),
          ),
        ];
    return [
      h(
        'div',
        { class: 'alarm-head', role: 'alert' },
        h('p', { class: 'alarm-level' }, t('alarm.level', { level: t(`levels.${inc.level}`) }), ' · ', what(inc)),
        h('h1', { tabindex: '-1' }, inc.site ? inc.site.name : view.title),
        inc.site && inc.site.address && h('p', { class: 'alarm-address' }, inc.site.address),
      ),
      h(
        'dl',
        { class: 'alarm-facts' },
        where(inc) && h('div', null, h('dt', null, t('alarm.where')), h('dd', null, where(inc))),
        device && h('div', null, h('dt', null, t('alarm.device')), h('dd', null, device.device_serial || '')),
        h('div', null, h('dt', null, t('alarm.time')), h('dd', null, time(inc.opened_at))),
      ),
      answer.stale && asOf(answer),
      ...body,
    ];
  }

  async function act(action, body) {
    picking = false;
    await enqueue(id, action, body);
    mine = await forIncident(id);
    draw();
  }

  // --- the incident screen -------------------------------------------------
  function detail(inc) {
    const pending = (action) => mine.some((i) => i.action === action && i.state !== 'failed');
    return [
      h(
        'div',
        { class: `incident-head level-${inc.level}` },
        h('div', { class: 'row tags' }, levelTag(inc.level), stateTag(inc.state)),
        h('h1', { tabindex: '-1' }, inc.site ? inc.site.name : view.title),
        h('p', { class: 'muted' }, t('incident.title', { id: inc.id }), ' · ', what(inc)),
        h(
          'dl',
          { class: 'facts' },
          inc.site && inc.site.address && [h('dt', null, t('incident.address')), h('dd', null, inc.site.address)],
          h('dt', null, t('incident.opened')),
          h('dd', null, time(inc.opened_at)),
        ),
      ),
      asOf(answer),
      mine.length > 0 && h('ul', { class: 'list outbox' }, mine.slice().reverse().map((i) => outboxItem(i))),
      actions(inc, pending),
      h('h2', null, t('incident.response')),
      response(inc),
      h('h2', null, t('incident.alerts')),
      h(
        'ul',
        { class: 'list' },
        (inc.alerts || []).map((a) =>
          h(
            'li',
            { class: 'card' },
            h('div', { class: 'row' }, h('strong', null, named('conditions', a.condition)), levelTag(a.level)),
            h('p', null, h('span', { class: 'serial' }, a.device_serial || ''), a.location_text && ` · ${a.location_text}`),
            h('p', { class: 'muted small' }, time(a.first_at), a.count > 1 && ` · ${t('incident.count', { count: a.count })}`),
          ),
        ),
      ),
      h('h2', null, t('incident.timeline')),
      timeline(inc),
      notifications(),
    ];
  }

  function actions(inc, pending) {
    if (!canAct(me)) return h('p', { class: 'notice' }, t('incident.readOnly'));
    if (inc.state === 'closed') return h('p', { class: 'notice' }, t('incident.closedBy'));
    if (pending('close')) return null;
    const buttons = [];
    if (inc.state === 'open' && !pending('acknowledge')) {
      buttons.push(h('button', { type: 'button', class: 'btn btn-primary', 'data-action': 'acknowledge', onclick: () => act('acknowledge') }, t('incident.ack')));
    }
    if ((inc.state === 'open' || inc.state === 'acknowledged') && !pending('on-scene')) {
      buttons.push(h('button', { type: 'button', class: 'btn btn-secondary', 'data-action': 'on-scene', onclick: () => act('on-scene') }, t('incident.arrive')));
    }
    if (!inc.confirmed_at && !pending('confirm-fire')) {
      buttons.push(h('a', { href: 'tel:119', class: 'btn btn-fire-small', 'data-action': 'confirm-fire', onclick: () => act('confirm-fire') }, t('incident.confirmFire')));
    }
    return h('section', { 'aria-labelledby': 'actions-title' }, h('h2', { id: 'actions-title' }, t('incident.actions')), h('div', { class: 'buttons stack-buttons' }, buttons), outcomeForm());
  }

  function outcomeForm() {
    const error = h('p', { class: 'field-error', id: 'outcome-error', role: 'alert', hidden: true });
    const radio = (name, value, label) =>
      h('label', { class: 'choice' }, h('input', { type: 'radio', name, value, checked: choice[name] === value }), label);
    const reasons = h(
      'fieldset',
      { class: 'choices', hidden: choice.outcome !== 'false_alarm' },
      h('legend', null, t('incident.chooseReason')),
      REASONS.map((r) => radio('reason', r, t(`reasons.${r}`))),
    );
    const note = h('textarea', {
      id: 'outcome-note',
      name: 'note',
      maxlength: '500',
      rows: '2',
      placeholder: t('incident.notePlaceholder'),
      oninput: (e) => (choice.note = e.target.value),
    });
    note.value = choice.note;
    const form = h(
      'form',
      {
        class: 'card stack outcome-form',
        novalidate: true,
        onchange: () => {
          choice.outcome = form.elements.outcome.value;
          choice.reason = form.elements.reason.value;
          reasons.hidden = choice.outcome !== 'false_alarm';
        },
        onsubmit: (e) => {
          e.preventDefault();
          const outcome = form.elements.outcome.value;
          const reason = form.elements.reason.value;
          const problem = !outcome ? t('incident.outcomeRequired') : outcome === 'false_alarm' && !reason ? t('incident.reasonRequired') : null;
          error.hidden = !problem;
          error.textContent = problem || '';
          if (problem) return;
          const body = { outcome };
          if (outcome === 'false_alarm') body.reason = reason;
          if (note.value.trim()) body.note = note.value.trim();
          act('close', body);
        },
      },
      h('h3', null, t('incident.record')),
      h(
        'fieldset',
        { class: 'choices' },
        h('legend', null, t('incident.chooseOutcome')),
        OUTCOMES.map((o) => radio('outcome', o, t(`outcomes.${o}`))),
      ),
      reasons,
      h('div', { class: 'field' }, h('label', { for: 'outcome-note' }, t('incident.note')), note),
      error,
      h('button', { type: 'submit', class: 'btn btn-primary' }, t('incident.submit')),
    );
    return form;
  }

  function response(inc) {
    const step = (label, at, seconds) => [
      h('dt', null, label),
      h('dd', null, at ? [time(at), seconds != null ? t('incident.after', { time: formatDuration(seconds) }) : ''] : h('span', { class: 'muted' }, t('incident.notYet'))),
    ];
    return h(
      'dl',
      { class: 'facts response' },
      step(t('incident.acknowledged'), inc.acknowledged_at, inc.seconds_to_acknowledge),
      step(t('incident.onScene'), inc.on_scene_at, inc.seconds_to_scene),
      inc.confirmed_at && step(t('incident.confirmed'), inc.confirmed_at),
      step(t('incident.closed'), inc.closed_at, inc.seconds_to_close),
      inc.outcome && [h('dt', null, t('incident.outcome')), h('dd', null, named('outcomes', inc.outcome))],
      inc.false_alarm_reason && [h('dt', null, t('incident.reason')), h('dd', null, named('reasons', inc.false_alarm_reason))],
      inc.note && [h('dt', null, t('incident.note')), h('dd', null, inc.note)],
    );
  }

  function timeline(inc) {
    const entries = inc.timeline || [];
    if (!entries.length) return h('p', { class: 'muted' }, t('incident.noTimeline'));
    return h(
      'ol',
      { class: 'timeline' },
      entries.map((e) =>
        h(
          'li',
          { 'data-kind': e.kind },
          h('p', { class: 'muted small' }, time(e.at), ' · ', named('incident.kinds', e.kind)),
          h('p', null, e.message),
        ),
      ),
    );
  }

  function notifications() {
    const body = h('div', null, notices ? told(notices) : loading());
    return h(
      'details',
      {
        class: 'card told',
        open: Boolean(notices),
        ontoggle: async (e) => {
          if (!e.currentTarget.open || notices) return;
          try {
            notices = await cachedGet(`${path}/notifications`);
            body.replaceChildren(told(notices));
          } catch (err) {
            body.replaceChildren(errorBox(err));
          }
        },
      },
      h('summary', null, t('incident.notifications')),
      body,
    );
  }

  function told({ data }) {
    if (!data.length) return h('p', { class: 'muted' }, t('incident.noNotifications'));
    return h(
      'ul',
      { class: 'list plain' },
      data.map((n) => {
        const last = (n.deliveries || []).slice(-1)[0];
        return h(
          'li',
          null,
          h('strong', null, named('messages.channels', n.channel)),
          ` ${n.to || ''} · ${named('messages.kinds', n.kind)}`,
          last && ` · ${named('messages.delivery', last.state)}`,
        );
      }),
    );
  }

  // show the kept copy at once, then what the server says now
  (async () => {
    // Who I am decides alarm screen or read-only: known from before, or asked now.
    me = (await knownMe()) || (await loadMe().then((a) => a.data, () => null));
    mine = await forIncident(id);
    const kept = await cachedOnly(path);
    if (kept && !answer) answer = { data: kept.data, at: kept.at, stale: !navigator.onLine };
    draw();
    load();
  })();
  const stopOutbox = onOutboxChange(reloadOutbox);
  const timer = setInterval(() => document.visibilityState === 'visible' && load(), REFRESH_MS);
  view.refresh = load;
  view.cleanup = () => {
    gone = true;
    stopOutbox();
    clearInterval(timer);
    document.documentElement.classList.remove('alarming');
  };
}
