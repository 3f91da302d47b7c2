// Hydrants (消火栓) and their damage reports and work orders.
//   #/hydrants                 nearest first when the phone has a fix (distance, pressure, status)
//   #/hydrants/<id>            one hydrant, its pressure history, "report damage"
//   #/hydrants/report          report damage (any signed-in user) → the outbox
//   #/hydrants/<id>/report     the same for a known hydrant
//   #/hydrant-reports          my reports and their work orders' status
//   #/work-orders              the maintainer's work orders
//   #/work-orders/<id>         one, with its updates; status update / closing photo → the outbox
import { cachedGet } from '../api.js';
import { asOf, errorBox, fill, h, loading, named, time } from '../dom.js';
import { distanceText, locator, noteField, nowIso, photoPicker, photoStrip } from '../field.js';
import { t } from '../i18n.js';
import { enqueueRecord } from '../outbox.js';
import { knownMe, roles } from '../session.js';
import { listScreen, reloadWhenSent, waitingList } from './common.js';
import { itemStatus } from './outbox.js';

const CATEGORIES = ['leaking', 'broken', 'blocked', 'cap_missing', 'no_water', 'illegal_use', 'other'];
// As the server allows them (api/hydrants/services.py NEXT).
const NEXT_STATUS = { open: ['accepted', 'in_progress', 'fixed', 'rejected'], accepted: ['in_progress', 'fixed', 'rejected'], in_progress: ['fixed', 'rejected'] };
const LIST = '/hydrants?limit=100';

const statusTag = (status) => h('span', { class: `tag hydrant-${status}` }, named('hydrants.status', status));
const pressure = (hy) =>
  hy.latest_pressure_mpa != null
    ? h('span', { class: hy.pressure_low ? 'warn' : null }, t('hydrants.mpa', { value: hy.latest_pressure_mpa.toFixed(2) }), hy.pressure_low && ` · ${t('hydrants.low')}`)
    : h('span', { class: 'muted' }, t('hydrants.noPressure'));

function hydrantCard(hy) {
  return h(
    'li',
    null,
    h(
      'a',
      { class: 'card hydrant-card', href: `#/hydrants/${hy.id}`, 'data-hydrant': hy.id },
      h('span', { class: 'row' }, h('strong', { class: 'serial' }, hy.code), statusTag(hy.status)),
      hy.address && h('span', { class: 'muted block' }, hy.address),
      h('span', { class: 'block small' }, hy.distance_m != null && `${distanceText(hy.distance_m)} · `, pressure(hy)),
    ),
  );
}

export function hydrants(view) {
  view.title = t('hydrants.title');
  const body = h('div', null, loading());
  const gps = locator();
  view.append(
    h('h1', { tabindex: '-1' }, view.title),
    h(
      'div',
      { class: 'buttons' },
      h('a', { class: 'btn btn-primary', href: '#/hydrants/report' }, t('hydrants.report')),
      h('a', { class: 'btn btn-secondary', href: '#/hydrant-reports' }, t('hydrants.myReports')),
    ),
    gps.el,
    body,
  );
  // nearest first with a fix; the whole list without one, or offline when this spot's answer was never kept
  const get = async () => {
    const fix = await gps.fix();
    if (!fix) return cachedGet(LIST);
    return cachedGet(`/hydrants/nearest?lat=${fix.lat.toFixed(5)}&lng=${fix.lng.toFixed(5)}&limit=20`).catch((err) => {
      if (err.status === 0) return cachedGet(LIST);
      throw err;
    });
  };
  listScreen(view, body, { get, card: hydrantCard, empty: t('hydrants.empty') });
}

export function hydrant(view, ctx) {
  const id = ctx.params[0];
  view.title = t('hydrants.one');
  view.append(h('h1', { tabindex: '-1' }, view.title), loading());
  async function load() {
    try {
      const answer = await cachedGet(`/hydrants/${id}`);
      const hy = answer.data;
      const history = h('div');
      fill(
        view,
        h('h1', { tabindex: '-1' }, t('hydrants.named', { code: hy.code })),
        h('div', { class: 'row tags' }, statusTag(hy.status), hy.open_work_orders > 0 && h('span', { class: 'tag tag-queued' }, t('hydrants.openOrders', { count: hy.open_work_orders }))),
        h(
          'dl',
          { class: 'facts' },
          h('dt', null, t('hydrants.kind')),
          h('dd', null, named('hydrants.kinds', hy.kind), ' · ', named('hydrants.ownerships', hy.ownership)),
          hy.address && [h('dt', null, t('hydrants.address')), h('dd', null, hy.address)],
          h('dt', null, t('hydrants.pressure')),
          h('dd', null, pressure(hy), hy.pressure_at && [' · ', time(hy.pressure_at)]),
          hy.owner && [h('dt', null, t('hydrants.owner')), h('dd', null, hy.owner)],
          hy.maintainer_name && [h('dt', null, t('hydrants.maintainer')), h('dd', null, hy.maintainer_name)],
          hy.location && [h('dt', null, t('hydrants.location')), h('dd', { class: 'small' }, `${hy.location.lat.toFixed(5)}, ${hy.location.lng.toFixed(5)}`)],
        ),
        asOf(answer),
        h('a', { class: 'btn btn-primary', href: `#/hydrants/${hy.id}/report` }, t('hydrants.report')),
        hy.device_id != null && [h('h2', null, t('hydrants.history')), history],
      );
      if (hy.device_id != null) {
        cachedGet(`/hydrants/${id}/pressure?limit=12`)
          .then(({ data }) =>
            fill(
              history,
              (data.items || []).length
                ? h('ul', { class: 'list plain' }, data.items.map((p) => h('li', null, time(p.at), ' · ', t('hydrants.mpa', { value: Number(p.pressure_mpa).toFixed(2) }))))
                : h('p', { class: 'muted' }, t('hydrants.noPressure')),
            ),
          )
          .catch(() => fill(history, h('p', { class: 'muted' }, t('hydrants.noPressure'))));
      }
    } catch (err) {
      if (err.status !== 401) fill(view, h('h1', { tabindex: '-1' }, view.title), errorBox(err, load));
    }
  }
  view.refresh = load;
  load();
}

export function hydrantReport(view, ctx) {
  const hydrantId = ctx.params[0] ? Number(ctx.params[0]) : null;
  view.title = t('hydrants.report');
  const cleanups = [];
  view.cleanup = () => cleanups.forEach((fn) => fn());
  let category = '';
  const gps = locator();
  const photos = photoPicker({ max: 5 });
  const note = noteField('report-note', t('field.note'), '', 1000);
  const error = h('p', { class: 'field-error', role: 'alert', hidden: true });
  const which = h('p', { class: 'muted' });
  let code = null;
  if (hydrantId) {
    cachedGet(`/hydrants/${hydrantId}`)
      .then(({ data }) => {
        code = data.code;
        which.textContent = t('hydrants.named', { code: data.code });
      })
      .catch(() => (which.textContent = ''));
  } else {
    which.textContent = t('hydrants.byLocation');
  }
  const cats = h('div', { class: 'categories', role: 'radiogroup', 'aria-label': t('hydrants.category') });
  const drawCats = () =>
    cats.replaceChildren(
      ...CATEGORIES.map((c) =>
        h('button', { type: 'button', role: 'radio', class: 'btn btn-choice', 'data-category': c, 'aria-checked': String(category === c), onclick: () => ((category = c), drawCats()) }, t(`hydrants.categories.${c}`)),
      ),
    );
  drawCats();
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, t('hydrants.send'));
  const form = h(
    'form',
    {
      class: 'stack',
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        let problem = !category ? t('hydrants.chooseCategory') : null;
        let location = null;
        if (!problem) {
          submit.disabled = true;
          submit.textContent = t('field.saving');
          await photos.busy();
          location = await gps.fix();
          if (!hydrantId && !location) problem = t('hydrants.needWhere');
        }
        error.hidden = !problem;
        error.textContent = problem || '';
        if (problem) {
          submit.disabled = false;
          submit.textContent = t('hydrants.send');
          return;
        }
        const list = photos.photos();
        const item = await enqueueRecord({
          path: '/hydrant-reports',
          body: { hydrant_id: hydrantId, category, note: note.area.value.trim() || null, photo_ids: list.map((p) => p.id), location, at: nowIso() },
          photos: list,
          what: 'hydrant_report',
          label: [code, t(`hydrants.categories.${category}`)].filter(Boolean).join(' · '),
          link: '#/hydrant-reports',
        });
        const status = itemStatus(item.id);
        cleanups.push(status.cleanup);
        fill(
          view,
          h('h1', { tabindex: '-1' }, t('hydrants.thanks')),
          h('p', null, t('hydrants.thanksHelp')),
          status.el,
          h('div', { class: 'buttons stack-buttons' }, h('a', { class: 'btn btn-secondary', href: '#/hydrant-reports' }, t('hydrants.myReports')), h('a', { class: 'btn btn-secondary', href: '#/hydrants' }, t('hydrants.title'))),
        );
        view.querySelector('h1').focus();
      },
    },
    h('fieldset', { class: 'choices' }, h('legend', null, t('hydrants.category')), cats),
    h('div', { class: 'field' }, h('p', { class: 'label' }, t('field.photos')), photos.el),
    note.el,
    gps.el,
    error,
    submit,
  );
  view.append(h('h1', { tabindex: '-1' }, view.title), which, form);
}

function reportCard(r) {
  const wo = r.work_order;
  return h(
    'li',
    { class: 'card report', 'data-report': r.id },
    h('div', { class: 'row' }, h('strong', null, named('hydrants.categories', r.category)), wo && h('span', { class: `tag wo-${wo.status}` }, named('workOrders.status', wo.status))),
    h('p', { class: 'muted small' }, r.hydrant_code && `${r.hydrant_code} · `, time(r.at || r.created_at)),
    r.note && h('p', null, r.note),
    photoStrip(r.photos),
    wo && wo.deadline && h('p', { class: wo.overdue ? 'warn small' : 'muted small' }, t('workOrders.deadline'), ' ', time(wo.deadline)),
  );
}

export function myReports(view) {
  view.title = t('hydrants.myReports');
  const waiting = h('div');
  const body = h('div', null, loading());
  view.append(h('h1', { tabindex: '-1' }, view.title), waiting, body);
  const drawWaiting = waitingList(waiting, (i) => i.what === 'hydrant_report');
  const get = () => (drawWaiting(), cachedGet('/hydrant-reports?mine=true&limit=100'));
  listScreen(view, body, { get, order: (list) => list.reverse(), card: reportCard, empty: t('hydrants.noReports') });
}

function workOrderCard(wo) {
  const r = wo.report || {};
  return h(
    'li',
    null,
    h(
      'a',
      { class: 'card work-order', href: `#/work-orders/${wo.id}`, 'data-work-order': wo.id },
      h('span', { class: 'row' }, h('strong', null, (wo.hydrant && wo.hydrant.code) || t('workOrders.one', { id: wo.id })), h('span', { class: `tag wo-${wo.status}` }, named('workOrders.status', wo.status))),
      h('span', { class: 'block' }, named('hydrants.categories', r.category)),
      h('span', { class: wo.overdue ? 'block warn small' : 'block muted small' }, t('workOrders.deadline'), ' ', time(wo.deadline), wo.overdue && ` · ${t('workOrders.overdue')}`),
    ),
  );
}

export function workOrders(view) {
  view.title = t('workOrders.title');
  const body = h('div', null, loading());
  view.append(h('h1', { tabindex: '-1' }, view.title), body);
  listScreen(view, body, {
    get: () => cachedGet('/work-orders?open=true&limit=100'),
    order: (list) => list.sort((a, b) => Number(b.overdue) - Number(a.overdue) || String(a.deadline).localeCompare(String(b.deadline))),
    card: workOrderCard,
    empty: t('workOrders.empty'),
  });
}

export function workOrder(view, ctx) {
  const id = ctx.params[0];
  view.title = t('workOrders.one', { id });
  const waiting = h('div');
  const cleanups = [];
  view.cleanup = () => cleanups.forEach((fn) => fn());
  view.append(h('h1', { tabindex: '-1' }, view.title), loading());
  async function load() {
    try {
      const [answer, me] = await Promise.all([cachedGet(`/work-orders/${id}`), knownMe()]);
      const wo = answer.data;
      const r = wo.report || {};
      fill(
        view,
        h('h1', { tabindex: '-1' }, (wo.hydrant && t('hydrants.named', { code: wo.hydrant.code })) || view.title),
        h('div', { class: 'row tags' }, h('span', { class: `tag wo-${wo.status}` }, named('workOrders.status', wo.status)), wo.overdue && h('span', { class: 'tag tag-failed' }, t('workOrders.overdue'))),
        h(
          'dl',
          { class: 'facts' },
          h('dt', null, t('hydrants.category')),
          h('dd', null, named('hydrants.categories', r.category)),
          h('dt', null, t('workOrders.deadline')),
          h('dd', null, time(wo.deadline)),
          r.note && [h('dt', null, t('field.note')), h('dd', null, r.note)],
          wo.hydrant && wo.hydrant.address && [h('dt', null, t('hydrants.address')), h('dd', null, wo.hydrant.address)],
        ),
        photoStrip(r.photos),
        asOf(answer),
        h('h2', null, t('workOrders.updates')),
        (wo.updates || []).length
          ? h(
              'ol',
              { class: 'timeline' },
              wo.updates.map((u) => h('li', null, h('p', { class: 'muted small' }, time(u.at || u.created_at), ' · ', u.user_name || ''), h('p', null, named('workOrders.status', u.status), u.note && ` · ${u.note}`), photoStrip(u.photos))),
            )
          : h('p', { class: 'muted' }, t('workOrders.noUpdates')),
        waiting,
        NEXT_STATUS[wo.status] && (roles(me).has('maintainer') || roles(me).has('admin')) && updateForm(wo),
      );
      drawWaiting();
    } catch (err) {
      if (err.status !== 401) fill(view, h('h1', { tabindex: '-1' }, view.title), errorBox(err, load));
    }
  }
  const mine = (i) => i.path === `/work-orders/${id}/updates`;
  const drawWaiting = waitingList(waiting, mine);
  function updateForm(wo) {
    let status = '';
    const photos = photoPicker({ max: 5, label: t('workOrders.addPhoto') });
    const note = noteField('wo-note', t('field.note'));
    const error = h('p', { class: 'field-error', role: 'alert', hidden: true });
    const choices = h('div', { class: 'categories', role: 'radiogroup', 'aria-label': t('workOrders.newStatus') });
    const draw = () =>
      choices.replaceChildren(
        ...NEXT_STATUS[wo.status].map((s) =>
          h('button', { type: 'button', role: 'radio', class: 'btn btn-choice', 'data-status': s, 'aria-checked': String(status === s), onclick: () => ((status = s), draw()) }, named('workOrders.status', s)),
        ),
      );
    draw();
    return h(
      'form',
      {
        class: 'card stack',
        novalidate: true,
        onsubmit: async (e) => {
          e.preventDefault();
          await photos.busy();
          const list = photos.photos();
          const problem = !status ? t('workOrders.chooseStatus') : status === 'fixed' && !list.length ? t('workOrders.needPhoto') : null;
          error.hidden = !problem;
          error.textContent = problem || '';
          if (problem) return;
          await enqueueRecord({
            path: `/work-orders/${wo.id}/updates`,
            body: { status, note: note.area.value.trim() || null, photo_ids: list.map((p) => p.id), at: nowIso() },
            photos: list,
            what: 'work_order_update',
            label: named('workOrders.status', status),
            link: `#/work-orders/${wo.id}`,
          });
          load();
        },
      },
      h('h2', null, t('workOrders.update')),
      choices,
      photos.el,
      note.el,
      error,
      h('button', { type: 'submit', class: 'btn btn-primary' }, t('workOrders.send')),
    );
  }
  // An update reaching the server: show the work order as it is now.
  cleanups.push(reloadWhenSent(mine, load, drawWaiting));
  view.refresh = load;
  load();
}
