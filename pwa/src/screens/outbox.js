// The outbox: each action with its state (queued / sending / sent / failed); a
// failed one shows the server's message and can be retried or discarded.
import { h } from '../dom.js';
import { formatTime, t } from '../i18n.js';
import { discard, items, onOutboxChange, retry } from '../outbox.js';

function describe(item) {
  let what = t(`outbox.actions.${item.action}`);
  if (item.action === 'close' && item.body) {
    const body = JSON.parse(item.body);
    what += ` · ${t(`outcomes.${body.outcome}`)}${body.reason ? ` · ${t(`reasons.${body.reason}`)}` : ''}`;
  }
  return what;
}

export function outboxItem(item, { withIncident = false } = {}) {
  return h(
    'li',
    { class: `card outbox-item outbox-${item.state}`, 'data-outbox-id': item.id, 'data-state': item.state },
    h(
      'div',
      { class: 'row' },
      h('strong', null, describe(item)),
      h('span', { class: `tag tag-${item.state}` }, t(`outbox.${item.state}`)),
    ),
    h(
      'p',
      { class: 'muted small' },
      withIncident && h('a', { href: `#/incidents/${item.incidentId}` }, t('incident.title', { id: item.incidentId })),
      withIncident && ' · ',
      formatTime(item.sentAt || item.createdAt),
    ),
    item.error && item.error.message && h('p', { class: item.state === 'failed' ? 'field-error' : 'muted small', role: item.state === 'failed' ? 'alert' : null }, item.error.message),
    item.state === 'failed' &&
      h(
        'div',
        { class: 'buttons' },
        h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => retry(item.id) }, t('outbox.retry')),
        h('button', { type: 'button', class: 'btn btn-danger', onclick: () => discard(item.id) }, t('outbox.discard')),
      ),
  );
}

export function outboxScreen(view) {
  view.title = t('outbox.title');
  const list = h('div');
  view.append(h('h1', { tabindex: '-1' }, view.title), list);
  async function draw() {
    const all = (await items()).reverse();
    list.replaceChildren(
      all.length
        ? h('ul', { class: 'list' }, all.map((i) => outboxItem(i, { withIncident: true })))
        : h('p', { class: 'muted' }, t('outbox.empty')),
    );
  }
  view.cleanup = onOutboxChange(draw);
  draw();
}
