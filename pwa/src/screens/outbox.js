// The outbox: each action or field record with its state (queued / sending / sent /
// failed); a failed one shows the server's message and can be retried or discarded.
// A sent patrol record offers its failed items as hazards, one tap each.
import { h } from '../dom.js';
import { formatTime, t } from '../i18n.js';
import { discard, enqueueRecord, items, onOutboxChange, resultLink, retry } from '../outbox.js';

function describe(item) {
  if (item.path) return [t(`outbox.kinds.${item.what}`), item.label].filter(Boolean).join(' · ');
  let what = t(`outbox.actions.${item.action}`);
  if (item.action === 'close' && item.body) {
    const body = JSON.parse(item.body);
    what += ` · ${t(`outcomes.${body.outcome}`)}${body.reason ? ` · ${t(`reasons.${body.reason}`)}` : ''}`;
  }
  return what;
}

function progress(item) {
  const photos = item.photos || [];
  if (!photos.length) return null;
  const up = photos.filter((p) => p.uploaded).length;
  return item.state === 'sent' ? t('outbox.photosSent', { count: photos.length }) : t('outbox.photosUp', { up, count: photos.length });
}

export function outboxItem(item, { withIncident = false } = {}) {
  const link = item.path && item.state === 'sent' ? resultLink(item) : null;
  return h(
    'li',
    { class: `card outbox-item outbox-${item.state}`, 'data-outbox-id': item.id, 'data-state': item.state, 'data-what': item.what || item.action },
    h(
      'div',
      { class: 'row' },
      h('strong', null, describe(item)),
      h('span', { class: `tag tag-${item.state}` }, t(`outbox.${item.state}`)),
    ),
    h(
      'p',
      { class: 'muted small' },
      withIncident && !item.path && h('a', { href: `#/incidents/${item.incidentId}` }, t('incident.title', { id: item.incidentId })),
      withIncident && !item.path && ' · ',
      formatTime(item.sentAt || item.createdAt),
      progress(item) && ` · ${progress(item)}`,
    ),
    link && h('p', null, h('a', { href: link }, t('outbox.open'))),
    item.error && item.error.message && h('p', { class: item.state === 'failed' ? 'field-error' : 'muted small', role: item.state === 'failed' ? 'alert' : null }, item.error.message),
    item.state === 'failed' &&
      h(
        'div',
        { class: 'buttons' },
        h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => retry(item.id) }, t('outbox.retry')),
        h('button', { type: 'button', class: 'btn btn-danger', onclick: () => discard(item.id) }, t('outbox.discard')),
      ),
    item.what === 'patrol_record' && item.state === 'sent' && hazardFromItem(item),
  );
}

// One item's live state: {el, cleanup}; onSent(item) once it reached the server.
export function itemStatus(id, onSent) {
  const el = h('ul', { class: 'list outbox' });
  let told = false;
  async function draw() {
    const item = (await items()).find((i) => i.id === id);
    if (!item) return el.replaceChildren();
    el.replaceChildren(outboxItem(item));
    if (item.state === 'sent' && !told) {
      told = true;
      if (onSent) onSent(item);
    }
  }
  const cleanup = onOutboxChange(draw);
  draw();
  return { el, cleanup };
}

// "Report as a hazard" for each failed item of a sent patrol record (the record is
// on the server: POST /patrol-records/<id>/items/<key>/hazard, through the outbox).
export function hazardFromItem(item) {
  const record = item.result;
  if (!record || !record.items) return null;
  const failed = record.items.filter((i) => i.result === 'fail');
  if (!failed.length) return null;
  const box = h('div', { class: 'hazard-offer' });
  const draw = async () => {
    const all = await items();
    box.replaceChildren(
      ...failed.map((i) => {
        const path = `/patrol-records/${record.id}/items/${i.key}/hazard`;
        const asked = all.find((x) => x.path === path);
        const label = i.label || i.key;
        const hazardId = i.hazard_id != null ? i.hazard_id : asked && asked.state === 'sent' && asked.result ? asked.result.hazard_id : null;
        if (hazardId != null) return h('p', null, h('a', { href: `#/hazards/${hazardId}`, 'data-hazard-link': i.key }, t('scan.hazardOpen', { item: label })));
        if (asked && asked.state === 'failed') return h('ul', { class: 'list outbox' }, outboxItem(asked));
        if (asked) return h('p', { class: 'muted small' }, t('scan.hazardQueued', { item: label }));
        return h(
          'button',
          {
            type: 'button',
            class: 'btn btn-danger',
            'data-hazard-item': i.key,
            onclick: async () => {
              await enqueueRecord({ path, body: { severity: 'major' }, what: 'item_hazard', label, link: '#/hazards/{hazard_id}' });
              draw();
            },
          },
          t('scan.reportHazard', { item: label }),
        );
      }),
    );
  };
  draw();
  return box;
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
