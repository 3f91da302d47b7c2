// Inspections and hazards (监督检查 / 隐患整改).
//   #/hazards               hazards in my scope or mine, overdue first; open / submitted / closed
//   #/hazards/<id>          one hazard, its history; rectification (responsible party) or
//                           accept / reject (supervisor) → the outbox
//   #/inspections           my inspections; a new one for a site
//   #/inspections/new/<site>  the supervisor's checklist: pass / fail / n.a.; a failed item
//                           gets severity, deadline, responsible person, photos → the outbox
//   #/inspections/<id>      one inspection and the hazards it found
import { cachedGet } from '../api.js';
import { asOf, errorBox, fill, h, loading, named, time } from '../dom.js';
import { endOfDay, itemLabel, locator, noteField, nowIso, photoPicker, photoStrip, resultButtons } from '../field.js';
import { getLocale, t } from '../i18n.js';
import { enqueueRecord, items as outboxItems } from '../outbox.js';
import { knownMe, loadMe, roles } from '../session.js';
import { checklistSubmit, listScreen, reloadWhenSent, waitingList } from './common.js';
import { itemStatus } from './outbox.js';

const SEVERITIES = ['minor', 'major', 'critical'];
const STATES = ['open', 'submitted', 'closed'];
const FIXERS = ['property_staff', 'maintainer', 'admin'];

const severityTag = (s) => h('span', { class: `tag severity-${s}` }, named('hazards.severities', s));
const hazardState = (s) => h('span', { class: `tag state-${s}` }, named('hazards.states', s));
const byUrgency = (a, b) => Number(Boolean(b.overdue)) - Number(Boolean(a.overdue)) || String(a.deadline).localeCompare(String(b.deadline));

export function hazardCard(hz) {
  return h(
    'li',
    null,
    h(
      'a',
      { class: `card hazard-card${hz.overdue ? ' overdue' : ''}`, href: `#/hazards/${hz.id}`, 'data-hazard': hz.id },
      h('span', { class: 'row tags' }, severityTag(hz.severity), hazardState(hz.state), hz.overdue && h('span', { class: 'tag tag-failed' }, t('hazards.overdue'))),
      h('strong', { class: 'block' }, hz.title),
      hz.site && h('span', { class: 'muted block' }, hz.site.name),
      hz.deadline && h('span', { class: hz.overdue ? 'block warn small' : 'block muted small' }, t('hazards.deadline'), ' ', time(hz.deadline)),
    ),
  );
}

// The supervisor's home screen: hazards past their deadline.
export async function overdueHazardsPart() {
  const answer = await cachedGet('/hazards?overdue=true&limit=50');
  const list = (answer.data.items || []).slice().sort(byUrgency);
  return [
    list.length
      ? [h('p', { class: 'alert-banner overdue-banner' }, t('hazards.overdueCount', { count: list.length })), h('ul', { class: 'list' }, list.slice(0, 5).map(hazardCard))]
      : h('p', { class: 'muted' }, t('hazards.noneOverdue')),
    h('div', { class: 'buttons' }, h('a', { class: 'btn btn-primary', href: '#/inspections' }, t('inspections.new')), h('a', { class: 'btn btn-secondary', href: '#/hazards' }, t('hazards.all'))),
    asOf(answer),
  ];
}

export function hazards(view) {
  view.title = t('hazards.title');
  let state = 'open';
  const tabs = h('div', { class: 'segmented', role: 'group', 'aria-label': t('hazards.state') });
  const body = h('div', null, loading());
  const drawTabs = () =>
    tabs.replaceChildren(
      ...STATES.map((s) => h('button', { type: 'button', 'aria-pressed': String(s === state), onclick: () => ((state = s), drawTabs(), load()) }, named('hazards.states', s))),
    );
  drawTabs();
  view.append(h('h1', { tabindex: '-1' }, view.title), tabs, body);
  const load = listScreen(view, body, {
    get: () => cachedGet(`/hazards?state=${state}&limit=200`),
    order: (list) => list.sort(byUrgency),
    card: hazardCard,
    empty: t('hazards.empty'),
  });
}

export function hazard(view, ctx) {
  const id = ctx.params[0];
  view.title = t('hazards.one', { id });
  const cleanups = [];
  view.cleanup = () => cleanups.forEach((fn) => fn());
  const waiting = h('div');
  const mine = (i) => i.path && i.path.startsWith(`/hazards/${id}/`);
  const drawWaiting = waitingList(waiting, mine);
  view.append(h('h1', { tabindex: '-1' }, view.title), loading());
  async function load() {
    try {
      const [answer, me] = await Promise.all([cachedGet(`/hazards/${id}`), knownMe().then((m) => m || loadMe().then((a) => a.data))]);
      const hz = answer.data;
      const has = roles(me);
      const pending = (await outboxItems()).filter((i) => mine(i) && i.state !== 'sent' && i.state !== 'failed');
      const canFix = hz.state === 'open' && ((hz.responsible && hz.responsible.id === me.id) || FIXERS.some((r) => has.has(r)));
      const canReview = hz.state === 'submitted' && (has.has('supervisor') || has.has('admin'));
      fill(
        view,
        h('div', { class: 'row tags' }, severityTag(hz.severity), hazardState(hz.state), hz.overdue && h('span', { class: 'tag tag-failed' }, t('hazards.overdue'))),
        h('h1', { tabindex: '-1' }, hz.title),
        h(
          'dl',
          { class: 'facts' },
          hz.site && [h('dt', null, t('hazards.site')), h('dd', null, hz.site.name)],
          h('dt', null, t('hazards.deadline')),
          h('dd', { class: hz.overdue ? 'warn' : null }, time(hz.deadline)),
          hz.responsible && [h('dt', null, t('hazards.responsible')), h('dd', null, hz.responsible.name || '')],
          hz.created_by && [h('dt', null, t('hazards.foundBy')), h('dd', null, hz.created_by.name || '')],
          hz.source && hz.source.type && [h('dt', null, t('hazards.source')), h('dd', null, named('hazards.sources', hz.source.type))],
        ),
        hz.description && h('p', null, hz.description),
        photoStrip(hz.photos),
        asOf(answer),
        waiting,
        !pending.length && canFix && rectifyForm(hz),
        !pending.length && canReview && reviewForm(hz),
        h('h2', null, t('hazards.history')),
        h(
          'ol',
          { class: 'timeline' },
          (hz.history || []).map((e) =>
            h(
              'li',
              { 'data-kind': e.kind },
              h('p', { class: 'muted small' }, time(e.at), ' · ', named('hazards.events', e.kind), e.actor && ` · ${e.actor.name || ''}`),
              e.note && h('p', null, e.note),
              photoStrip(e.photos),
            ),
          ),
        ),
      );
      drawWaiting();
    } catch (err) {
      if (err.status !== 401) fill(view, h('h1', { tabindex: '-1' }, view.title), errorBox(err, load));
    }
  }
  function rectifyForm(hz) {
    const photos = photoPicker({ max: 5 });
    const note = noteField('rectify-note', t('hazards.whatDone'));
    const error = h('p', { class: 'field-error', role: 'alert', hidden: true });
    return h(
      'form',
      {
        class: 'card stack rectify-form',
        novalidate: true,
        onsubmit: async (e) => {
          e.preventDefault();
          await photos.busy();
          const list = photos.photos();
          error.hidden = list.length > 0;
          error.textContent = list.length ? '' : t('hazards.needPhoto');
          if (!list.length) return;
          await enqueueRecord({ path: `/hazards/${hz.id}/rectifications`, body: { note: note.area.value.trim() || null, photo_ids: list.map((p) => p.id), at: nowIso() }, photos: list, what: 'rectification', label: hz.title, link: `#/hazards/${hz.id}` });
          load();
        },
      },
      h('h2', null, t('hazards.rectify')),
      photos.el,
      note.el,
      error,
      h('button', { type: 'submit', class: 'btn btn-primary' }, t('hazards.submitRectify')),
    );
  }
  function reviewForm(hz) {
    const note = noteField('review-note', t('hazards.reviewNote'));
    const error = h('p', { class: 'field-error', role: 'alert', hidden: true });
    const decide = async (decision) => {
      const text = note.area.value.trim();
      const problem = decision === 'reject' && !text ? t('hazards.rejectNeedsNote') : null;
      error.hidden = !problem;
      error.textContent = problem || '';
      if (problem) return;
      await enqueueRecord({ path: `/hazards/${hz.id}/review`, body: { decision, note: text || null }, what: 'review', label: `${hz.title} · ${t(`hazards.decisions.${decision}`)}`, link: `#/hazards/${hz.id}`, withId: false });
      load();
    };
    return h(
      'div',
      { class: 'card stack review-form' },
      h('h2', null, t('hazards.review')),
      note.el,
      error,
      h(
        'div',
        { class: 'buttons' },
        h('button', { type: 'button', class: 'btn btn-primary', 'data-decision': 'accept', onclick: () => decide('accept') }, t('hazards.decisions.accept')),
        h('button', { type: 'button', class: 'btn btn-danger', 'data-decision': 'reject', onclick: () => decide('reject') }, t('hazards.decisions.reject')),
      ),
    );
  }
  cleanups.push(reloadWhenSent(mine, load, drawWaiting));
  view.refresh = load;
  load();
}

// #/inspections: my inspections (newest first) and the sites to inspect.
export function inspections(view) {
  view.title = t('inspections.title');
  const sites = h('div', null, loading());
  const mine = h('div');
  view.append(h('h1', { tabindex: '-1' }, view.title), h('h2', null, t('inspections.new')), sites, h('h2', null, t('inspections.mine')), mine);
  async function load() {
    try {
      const answer = await cachedGet('/places?kind=site&limit=200');
      const list = answer.data.items || [];
      const select = h('select', { id: 'inspect-site', name: 'site' }, list.map((s) => h('option', { value: String(s.id) }, s.name)));
      fill(
        sites,
        list.length
          ? h(
              'form',
              { class: 'card stack', onsubmit: (e) => (e.preventDefault(), (location.hash = `#/inspections/new/${select.value}`)) },
              h('div', { class: 'field' }, h('label', { for: 'inspect-site' }, t('inspections.site')), select),
              h('button', { type: 'submit', class: 'btn btn-primary' }, t('inspections.start')),
            )
          : h('p', { class: 'muted' }, t('inspections.noSites')),
      );
    } catch (err) {
      if (err.status !== 401) fill(sites, errorBox(err, load));
    }
    try {
      const answer = await cachedGet('/inspections?mine=true&limit=100');
      const list = (answer.data.items || []).slice().reverse();
      fill(
        mine,
        list.length
          ? h(
              'ul',
              { class: 'list' },
              list.map((i) =>
                h('li', null, h('a', { class: 'card block-link', href: `#/inspections/${i.id}` }, h('strong', { class: 'block' }, i.site ? i.site.name : ''), h('span', { class: 'muted small block' }, time(i.at), ' · ', t('inspections.failed', { count: i.failed })))),
              ),
            )
          : h('p', { class: 'muted' }, t('inspections.none')),
      );
    } catch (err) {
      if (err.status !== 401) fill(mine, errorBox(err));
    }
  }
  view.refresh = load;
  load();
}

export function inspectionForm(view, ctx) {
  const siteId = Number(ctx.params[0]);
  view.title = t('inspections.new');
  const cleanups = [];
  view.cleanup = () => cleanups.forEach((fn) => fn());
  view.append(h('h1', { tabindex: '-1' }, view.title), loading());
  async function load() {
    try {
      const [templates, site, people] = await Promise.all([
        cachedGet('/checklist-templates?kind=inspection'),
        cachedGet(`/places/${siteId}`).catch(() => null),
        cachedGet(`/hazards/responsible-candidates?site_id=${siteId}`).catch(() => ({ data: { items: [] } })),
      ]);
      const list = templates.data.items || [];
      const template = list.find((x) => x.code) || list[0];
      if (!template) throw new Error(t('inspections.noTemplate'));
      draw(template, site && site.data, people.data.items || []);
    } catch (err) {
      if (err.status !== 401) fill(view, h('h1', { tabindex: '-1' }, view.title), errorBox(err, load));
    }
  }
  function draw(template, site, people) {
    const locale = getLocale();
    const gps = locator();
    const state = {};
    const rows = template.items.map((item) => {
      const s = (state[item.key] = { result: null, severity: 'major' });
      s.note = noteField(`note-${item.key}`, t('field.note'));
      s.photos = photoPicker({ max: 3 });
      s.deadline = h('input', { type: 'date', id: `deadline-${item.key}`, name: `deadline-${item.key}` });
      s.who = h('select', { id: `who-${item.key}`, name: `who-${item.key}` }, h('option', { value: '' }, t('inspections.nobody')), people.map((p) => h('option', { value: String(p.id) }, p.name)));
      const sev = h('div', { class: 'segmented', role: 'group', 'aria-label': t('hazards.severity') });
      const drawSev = () =>
        sev.replaceChildren(...SEVERITIES.map((v) => h('button', { type: 'button', 'data-severity': v, 'aria-pressed': String(s.severity === v), onclick: () => ((s.severity = v), drawSev()) }, named('hazards.severities', v))));
      drawSev();
      const more = h(
        'div',
        { class: 'item-more stack', hidden: true },
        h('p', { class: 'label' }, t('hazards.severity')),
        sev,
        h('div', { class: 'field' }, h('label', { for: `deadline-${item.key}` }, t('hazards.deadline')), s.deadline, h('p', { class: 'muted small' }, t('inspections.deadlineHelp'))),
        h('div', { class: 'field' }, h('label', { for: `who-${item.key}` }, t('hazards.responsible')), s.who),
        s.photos.el,
        s.note.el,
      );
      if (item.kind === 'note' || item.kind === 'photo') {
        // a note or a photo of the site, no verdict: sent as n.a. with what was given
        s.result = 'na';
        s.plain = true;
        if (item.kind === 'note') s.note = noteField(`note-${item.key}`, itemLabel(item, locale));
        return h('li', { class: 'card check-item', 'data-item': item.key }, item.kind === 'note' ? s.note.el : [h('p', { class: 'item-label' }, itemLabel(item, locale)), s.photos.el]);
      }
      return h(
        'li',
        { class: 'card check-item', 'data-item': item.key },
        h('p', { class: 'item-label' }, itemLabel(item, locale)),
        resultButtons(item.key, null, (r) => {
          s.result = r;
          more.hidden = r !== 'fail';
        }),
        more,
      );
    });
    const overall = noteField('inspection-note', t('inspections.note'));
    const error = h('p', { class: 'field-error', role: 'alert', hidden: true });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, t('inspections.submit'));
    const form = h(
      'form',
      {
        class: 'stack',
        novalidate: true,
        onsubmit: async (e) => {
          e.preventDefault();
          const missing = template.items.filter((i) => !state[i.key].result).length;
          const ready = await checklistSubmit({ missing, error, submit, gps, pickers: Object.values(state).map((s) => s.photos) });
          if (!ready) return;
          const { at, location, photos, take } = ready;
          const items = template.items.map((i) => {
            const s = state[i.key];
            const row = { key: i.key, result: s.result };
            if (s.plain) {
              const list = take(s.photos);
              Object.assign(row, { note: s.note.area.value.trim() || null, photo_ids: list.map((p) => p.id) });
            } else if (s.result === 'fail') {
              const list = take(s.photos);
              Object.assign(row, {
                severity: s.severity,
                deadline: endOfDay(s.deadline.value),
                responsible_user_id: s.who.value ? Number(s.who.value) : null,
                note: s.note.area.value.trim() || null,
                photo_ids: list.map((p) => p.id),
              });
            }
            return row;
          });
          const item = await enqueueRecord({
            path: '/inspections',
            body: { site_id: siteId, template_id: template.id, at, location, note: overall.area.value.trim() || null, items },
            photos,
            what: 'inspection',
            label: site ? site.name : '',
            link: '#/inspections/{id}',
          });
          const status = itemStatus(item.id);
          cleanups.push(status.cleanup);
          fill(view, h('h1', { tabindex: '-1' }, t('inspections.saved')), status.el, h('a', { class: 'btn btn-secondary', href: '#/hazards' }, t('hazards.all')));
          view.querySelector('h1').focus();
        },
      },
      h('ul', { class: 'list' }, rows),
      overall.el,
      gps.el,
      error,
      submit,
    );
    fill(view, h('p', { class: 'muted' }, (locale === 'en' && template.name_en) || template.name), h('h1', { tabindex: '-1' }, site ? site.name : view.title), form);
  }
  load();
}

export function inspection(view, ctx) {
  const id = ctx.params[0];
  view.title = t('inspections.one', { id });
  view.append(h('h1', { tabindex: '-1' }, view.title), loading());
  async function load() {
    try {
      const answer = await cachedGet(`/inspections/${id}`);
      const i = answer.data;
      const locale = getLocale();
      fill(
        view,
        h('h1', { tabindex: '-1' }, i.site ? i.site.name : view.title),
        h('p', { class: 'muted' }, time(i.at), i.inspector && ` · ${i.inspector.name || ''}`, ' · ', t('inspections.failed', { count: i.failed })),
        asOf(answer),
        h(
          'ul',
          { class: 'list' },
          (i.items || []).map((x) =>
            h(
              'li',
              { class: `card result-row result-${x.result}` },
              h('div', { class: 'row' }, h('span', null, itemLabel(x, locale)), h('span', { class: `tag result-${x.result}` }, named('field.results', x.result))),
              x.note && h('p', { class: 'small' }, x.note),
              photoStrip(x.photos),
              x.hazard_id != null && h('a', { href: `#/hazards/${x.hazard_id}` }, t('inspections.toHazard')),
            ),
          ),
        ),
      );
    } catch (err) {
      if (err.status !== 401) fill(view, h('h1', { tabindex: '-1' }, view.title), errorBox(err, load));
    }
  }
  view.refresh = load;
  load();
}
