// The devices in my scope (first 50): type, state (its open alerts), battery,
// signal and last report. Kept for offline use with its "as of" time.
import { cachedGet } from '../api.js';
import { asOf, errorBox, fill, h, loading, named, time } from '../dom.js';
import { getLocale, t } from '../i18n.js';

const LIMIT = 50;
let types = null; // code → {name_zh, name_en}; reference data, fetched once

async function loadTypes() {
  if (!types) {
    const { data } = await cachedGet('/device-types');
    types = Object.fromEntries(data.map((type) => [type.code, type]));
  }
  return types;
}

function typeName(code) {
  const type = types && types[code];
  if (!type) return code;
  return (getLocale() === 'en' ? type.name_en : type.name_zh) || type.name_zh || code;
}

const none = () => t('devices.none');

// device id → its open alerts' conditions
function alertsByDevice(alerts) {
  const map = new Map();
  for (const a of alerts || []) {
    if (a.device_id == null) continue;
    if (!map.has(a.device_id)) map.set(a.device_id, []);
    map.get(a.device_id).push(a);
  }
  return map;
}

function stateOf(d, alerts) {
  if (alerts && alerts.length) {
    const worst = alerts.slice().sort((a, b) => a.level - b.level)[0];
    return h('span', { class: `tag level-${worst.level}` }, [...new Set(alerts.map((a) => named('conditions', a.condition)))].join(' · '));
  }
  if (d.status && d.status !== 'active') return h('span', { class: `tag tag-${d.status}` }, named('devices.status', d.status));
  if (!d.last_seen_at) return h('span', { class: 'tag' }, t('devices.notReported'));
  return h('span', { class: 'tag tag-ok' }, t('devices.ok'));
}

export function deviceCard(d, alerts) {
  const low = d.battery_pct != null && d.battery_pct < 20;
  return h(
    'li',
    { class: 'card device', 'data-serial': d.serial },
    h('div', { class: 'row' }, h('strong', { class: 'serial' }, d.serial), stateOf(d, alerts)),
    h('p', { class: 'type' }, typeName(d.type_code)),
    d.location_text && h('p', { class: 'muted' }, d.location_text),
    h(
      'dl',
      { class: 'metrics' },
      h('div', null, h('dt', null, t('devices.battery')), h('dd', { class: low ? 'warn' : null }, d.battery_pct != null ? `${d.battery_pct}%` : none())),
      h('div', null, h('dt', null, t('devices.signal')), h('dd', null, d.signal_dbm != null ? `${d.signal_dbm} dBm` : none())),
      h('div', { class: 'wide' }, h('dt', null, t('devices.lastSeen')), h('dd', null, d.last_seen_at ? time(d.last_seen_at) : t('devices.never'))),
    ),
  );
}

// The devices with their open alerts: {answer (the devices'), items, alerts (Map)}
export async function loadDevices() {
  const [, devices, alerts] = await Promise.all([
    loadTypes().catch(() => null),
    cachedGet(`/devices?limit=${LIMIT}`),
    cachedGet('/alerts?limit=200').catch(() => ({ data: { items: [] } })),
  ]);
  return { answer: devices, page: devices.data, alerts: alertsByDevice(alerts.data.items) };
}

export function devices(view) {
  view.title = t('devices.title');
  const body = h('div', null, loading());
  view.append(h('h1', { tabindex: '-1' }, t('devices.title')), body);
  async function load() {
    try {
      const { answer, page, alerts } = await loadDevices();
      const items = page.items || [];
      fill(
        body,
        asOf(answer),
        items.length
          ? h('p', { class: 'muted' }, page.next_after != null ? t('devices.more', { count: items.length }) : t('devices.count', { count: items.length }))
          : h('p', { class: 'muted' }, t('devices.empty')),
        items.length > 0 && h('ul', { class: 'list' }, items.map((d) => deviceCard(d, alerts.get(d.id)))),
      );
    } catch (err) {
      if (err.status === 401) return;
      body.replaceChildren(errorBox(err, load));
    }
  }
  view.refresh = load;
  load();
}
