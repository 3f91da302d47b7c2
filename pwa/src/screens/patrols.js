// #/patrols: the patrol plans I am assigned to, this period's progress per plan and
// which checkpoints are done. Kept for offline use — the scan screen finds a
// checkpoint's checklist in it when there is no signal.
import { cachedGet } from '../api.js';
import { asOf, h, loading, time } from '../dom.js';
import { t } from '../i18n.js';
import { listScreen } from './common.js';

export const MY_PLANS = '/patrol-plans?mine=true&active=true&limit=100';

function progress(plan) {
  const period = plan.current_period;
  const total = (plan.checkpoints || []).length;
  const done = period ? new Set(period.done || []).size : 0;
  return { period, total, done };
}

export function planCard(plan, { detail = false } = {}) {
  const { period, total, done } = progress(plan);
  const doneIds = new Set((period && period.done) || []);
  return h(
    'li',
    { class: `card plan${period && period.complete ? ' plan-done' : ''}`, 'data-plan': plan.id },
    h(
      'div',
      { class: 'row' },
      h('strong', null, plan.name),
      h('span', { class: `tag ${period && period.complete ? 'tag-ok' : 'tag-queued'}` }, t('patrols.progress', { done, total })),
    ),
    plan.place_name && h('p', { class: 'muted small' }, plan.place_name),
    period && period.due && h('p', { class: 'small' }, t('patrols.due'), ' ', time(period.due)),
    detail &&
      h(
        'ol',
        { class: 'checkpoints' },
        (plan.checkpoints || []).map((c) =>
          h('li', { 'data-checkpoint': c.id, class: doneIds.has(c.id) ? 'done' : null }, doneIds.has(c.id) ? `✓ ${c.name}` : c.name),
        ),
      ),
  );
}

// The home screen's part: plans with something still to do this period.
export async function patrolsDuePart() {
  const answer = await cachedGet(MY_PLANS);
  const open = (answer.data.items || []).filter((p) => p.current_period && !p.current_period.complete);
  return [
    open.length ? h('ul', { class: 'list' }, open.slice(0, 5).map((p) => planCard(p))) : h('p', { class: 'muted' }, t('patrols.noneDue')),
    h('div', { class: 'buttons' }, h('a', { class: 'btn btn-primary', href: '#/scan' }, t('scan.title')), h('a', { class: 'btn btn-secondary', href: '#/patrols' }, t('patrols.all'))),
    asOf(answer),
  ];
}

export function patrols(view) {
  view.title = t('patrols.title');
  const body = h('div', null, loading());
  view.append(h('h1', { tabindex: '-1' }, view.title), h('a', { class: 'btn btn-primary', href: '#/scan' }, t('scan.title')), body);
  listScreen(view, body, { get: () => cachedGet(MY_PLANS), card: (p) => planCard(p, { detail: true }), empty: t('patrols.empty') });
}
