// #/notices: my notices (a patrol missed, a hazard past its deadline, a work order,
// a hydrant fixed), newest first; opening one marks it read.
import { api, cachedGet } from '../api.js';
import { h, levelTag, loading, time } from '../dom.js';
import { t } from '../i18n.js';
import { listScreen } from './common.js';

// Links are the app's own routes ("#/hazards/12"), never another site.
const safeLink = (link) => (typeof link === 'string' && /^#\/[\w/?=&-]*$/.test(link) ? link : null);

export function notices(view) {
  view.title = t('notices.title');
  const body = h('div', null, loading());
  view.append(h('h1', { tabindex: '-1' }, view.title), body);
  const read = (n) => (n.read_at ? Promise.resolve() : api(`/me/notices/${n.id}/read`, { method: 'POST' }).catch(() => {}));
  function card(n) {
    const link = safeLink(n.link);
    const unread = !n.read_at;
    return h(
      'li',
      { class: `card notice-item${unread ? ' unread' : ''}${n.closed_at ? ' closed' : ''}`, 'data-notice': n.id },
      h('div', { class: 'row tags' }, n.level ? levelTag(n.level) : null, unread && h('span', { class: 'tag tag-queued' }, t('notices.unread')), n.closed_at && h('span', { class: 'tag tag-ok' }, t('notices.over'))),
      h('p', null, n.text),
      h('p', { class: 'muted small' }, time(n.created_at)),
      h(
        'div',
        { class: 'buttons' },
        link && h('a', { class: 'btn btn-secondary', href: link, onclick: () => read(n) }, t('notices.open')),
        unread &&
          h(
            'button',
            {
              type: 'button',
              class: 'btn btn-ghost',
              onclick: async () => {
                await read(n);
                load();
              },
            },
            t('notices.markRead'),
          ),
      ),
    );
  }
  const load = listScreen(view, body, { get: () => cachedGet('/me/notices?limit=100'), card, empty: t('notices.empty') });
}
