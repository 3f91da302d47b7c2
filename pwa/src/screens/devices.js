// The devices in my scope (first 50), with type names in the chosen language.
import { api } from '../api.js';
import { errorBox, h, loading } from '../dom.js';
import { formatTime, getLocale, t } from '../i18n.js';

const LIMIT = 50;
let types = null; // code → {name_zh, name_en}; reference data, fetched once

async function loadTypes() {
  if (!types) {
    const list = await api('/device-types');
    types = Object.fromEntries(list.map((type) => [type.code, type]));
  }
  return types;
}

function typeName(code) {
  const type = types && types[code];
  if (!type) return code;
  return (getLocale() === 'en' ? type.name_en : type.name_zh) || type.name_zh || code;
}

const none = () => t('devices.none');

function device(d) {
  const low = d.battery_pct != null && d.battery_pct < 20;
  return h(
    'li',
    { class: 'card device' },
    h(
      'div',
      { class: 'row' },
      h('strong', { class: 'serial' }, d.serial),
      d.status && d.status !== 'active' && h('span', { class: `tag tag-${d.status}` }, t(`devices.status.${d.status}`)),
    ),
    h('p', { class: 'type' }, typeName(d.type_code)),
    d.location_text && h('p', { class: 'muted' }, d.location_text),
    h(
      'dl',
      { class: 'metrics' },
      h('div', null, h('dt', null, t('devices.battery')), h('dd', { class: low ? 'warn' : null }, d.battery_pct != null ? `${d.battery_pct}%` : none())),
      h('div', null, h('dt', null, t('devices.signal')), h('dd', null, d.signal_dbm != null ? `${d.signal_dbm} dBm` : none())),
      h(
        'div',
        { class: 'wide' },
        h('dt', null, t('devices.lastSeen')),
        h('dd', null, d.last_seen_at ? h('time', { datetime: d.last_seen_at }, formatTime(d.last_seen_at)) : t('devices.never')),
      ),
    ),
  );
}

export function devices(view) {
  view.title = t('devices.title');
  const body = h('div', null, loading());
  view.append(h('h1', { tabindex: '-1' }, t('devices.title')), body);
  async function load() {
    body.replaceChildren(loading());
    try {
      const [, page] = await Promise.all([loadTypes(), api(`/devices?limit=${LIMIT}`)]);
      const items = page.items || [];
      body.replaceChildren(
        items.length
          ? h('p', { class: 'muted' }, page.next_after != null ? t('devices.more', { count: items.length }) : t('devices.count', { count: items.length }))
          : h('p', { class: 'muted' }, t('devices.empty')),
        items.length > 0 && h('ul', { class: 'list' }, items.map(device)),
      );
    } catch (err) {
      if (err.status === 401) return;
      body.replaceChildren(errorBox(err, load));
    }
  }
  load();
}
