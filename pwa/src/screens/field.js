// #/field: the field work one tap away — scan a checkpoint, patrols, hydrants,
// hazards, inspections (supervisors), work orders (maintainers), my notices.
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { knownMe, loadMe, roles } from '../session.js';

const PATROLLERS = ['property_staff', 'grid_worker', 'station_member', 'supervisor', 'admin'];

export function field(view) {
  view.title = t('field.title');
  const list = h('ul', { class: 'list tiles' });
  view.append(h('h1', { tabindex: '-1' }, view.title), list);
  const tile = (href, key, primary = false) => h('li', null, h('a', { class: `card tile${primary ? ' tile-primary' : ''}`, href }, h('strong', null, t(`field.tiles.${key}`)), h('span', { class: 'muted small block' }, t(`field.tiles.${key}Help`))));
  (async () => {
    const me = (await knownMe()) || (await loadMe().then((a) => a.data, () => null));
    const has = roles(me);
    const patrols = PATROLLERS.some((r) => has.has(r));
    list.replaceChildren(
      ...[
        patrols && tile('#/scan', 'scan', true),
        patrols && tile('#/patrols', 'patrols'),
        tile('#/hydrants/report', 'report', !patrols),
        tile('#/hydrants', 'hydrants'),
        tile('#/hydrant-reports', 'myReports'),
        (has.has('maintainer') || has.has('admin')) && tile('#/work-orders', 'workOrders'),
        (has.has('supervisor') || has.has('admin')) && tile('#/inspections', 'inspections'),
        tile('#/hazards', 'hazards'),
        tile('#/notices', 'notices'),
      ].filter(Boolean),
    );
  })();
}
