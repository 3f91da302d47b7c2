// Home, per role: a resident sees the devices of their home and their state;
// property staff, grid workers, station members, operators (and admins and
// maintainers) the active incidents and device health of their scope; a fire
// supervisor the hazards past their deadline beside the incidents they can see;
// those who patrol, the patrol plans still due today. Someone with several roles
// sees each part.
import { cachedGet } from '../api.js';
import { ACTIVE, unhandled } from '../alarms.js';
import { asOf, errorBox, fill, h, levelTag, loading, named, stateTag, time } from '../dom.js';
import { t } from '../i18n.js';
import { canAct, loadMe, roles, watches } from '../session.js';
import { deviceCard, loadDevices } from './devices.js';
import { overdueHazardsPart } from './hazards.js';
import { patrolsDuePart } from './patrols.js';

const HEALTH = ['total', 'online', 'offline', 'never_seen', 'fault', 'low_battery'];

function incidentCard(inc) {
  const conditions = [...new Set((inc.alerts || []).map((a) => named('conditions', a.condition)))].join(' · ');
  return h(
    'li',
    null,
    h(
      'a',
      { class: `card incident-card level-${inc.level}`, href: `#/incidents/${inc.id}`, 'data-incident': inc.id },
      h('span', { class: 'row tags' }, levelTag(inc.level), stateTag(inc.state)),
      h('strong', { class: 'block' }, inc.site ? inc.site.name : t('incident.title', { id: inc.id })),
      inc.site && inc.site.address && h('span', { class: 'muted block' }, inc.site.address),
      h('span', { class: 'muted block small' }, conditions && `${conditions} · `, time(inc.opened_at)),
    ),
  );
}

// A section whose content loads on its own; its failure stays inside it.
function part(title, loader) {
  const body = h('div', null, loading());
  const load = () =>
    loader()
      .then((content) => fill(body, content))
      .catch((err) => err.status !== 401 && fill(body, errorBox(err, load)));
  load();
  return h('section', { class: 'part' }, h('h2', null, title), body);
}

async function incidentsPart(me) {
  const answer = await cachedGet(ACTIVE);
  const items = answer.data.items || [];
  const waiting = canAct(me) ? await unhandled(items) : [];
  return [
    waiting.length > 0 &&
      h('a', { class: 'alert-banner', href: `#/incidents/${waiting[0].id}` }, t('home.unhandled', { count: waiting.length })),
    items.length
      ? h('ul', { class: 'list' }, items.sort((a, b) => a.level - b.level || b.id - a.id).map(incidentCard))
      : h('p', { class: 'muted' }, t('home.noIncidents')),
    asOf(answer),
  ];
}

async function healthPart() {
  const answer = await cachedGet('/device-health');
  return [
    h(
      'dl',
      { class: 'counts' },
      HEALTH.map((key) =>
        h(
          'div',
          { class: `count count-${key}${key !== 'total' && key !== 'online' && answer.data[key] > 0 ? ' attention' : ''}` },
          h('dt', null, t(`health.${key}`)),
          h('dd', null, String(answer.data[key] ?? 0)),
        ),
      ),
    ),
    h('p', null, h('a', { href: '#/devices' }, t('home.allDevices'))),
    asOf(answer),
  ];
}

async function myHomePart() {
  const { answer, page, alerts } = await loadDevices();
  const items = page.items || [];
  return [
    items.length
      ? h('ul', { class: 'list' }, items.map((d) => deviceCard(d, alerts.get(d.id))))
      : h('p', { class: 'muted' }, t('home.noDevices')),
    asOf(answer),
  ];
}

const PATROLLERS = ['grid_worker', 'property_staff', 'station_member'];

function draw(view, me) {
  const has = roles(me);
  const resident = has.has('resident');
  const parts = [h('h1', { tabindex: '-1' }, t('home.hello', { name: me.name || me.phone }))];
  if (!has.size) parts.push(h('p', { class: 'notice' }, t('home.noRoles')));
  if (resident || watches(me) || has.has('supervisor')) parts.push(part(t('home.incidents'), () => incidentsPart(me)));
  if (resident) parts.push(part(t('home.myHome'), myHomePart));
  if (watches(me) || has.has('supervisor')) parts.push(part(t('home.health'), healthPart));
  if (has.has('supervisor')) parts.splice(1, 0, part(t('home.supervision'), overdueHazardsPart));
  if (PATROLLERS.some((r) => has.has(r))) parts.push(part(t('home.patrols'), patrolsDuePart));
  view.replaceChildren(...parts);
}

export function home(view) {
  view.title = t('home.title');
  view.append(h('h1', { tabindex: '-1' }, t('home.title')), loading());
  async function load() {
    try {
      const { data } = await loadMe();
      draw(view, data);
    } catch (err) {
      if (err.status === 401) return; // the router is already on its way to login
      view.replaceChildren(h('h1', { tabindex: '-1' }, t('home.title')), errorBox(err, load));
    }
  }
  view.refresh = load;
  load();
}
