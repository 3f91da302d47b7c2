// Who I am: name, masked phone (masked by the API), roles, language, log out.
import { api, logout } from '../api.js';
import { errorBox, h, languageSwitch, loading } from '../dom.js';
import { t } from '../i18n.js';

let lastMe = null; // shown at once on a re-render (language switch), then refreshed

function membership(m) {
  const where = [m.place_name && [m.place_kind && t(`placeKinds.${m.place_kind}`), m.place_name].filter(Boolean).join(' · '), m.org_name]
    .filter(Boolean)
    .join(' / ');
  return h('li', { class: 'card' }, h('strong', null, t(`roles.${m.role}`)), where && h('span', { class: 'muted block' }, where));
}

function render(body, me, { leave }) {
  const memberships = me.memberships || [];
  body.replaceChildren(
    h('h1', { tabindex: '-1' }, me.name || me.phone),
    h('dl', { class: 'facts' }, h('dt', null, t('home.phone')), h('dd', null, me.phone)),
    h('h2', null, t('home.memberships')),
    memberships.length
      ? h('ul', { class: 'list' }, memberships.map(membership))
      : h('p', { class: 'muted' }, t('home.noMemberships')),
    h('h2', null, t('home.language')),
    // Also tell the server, which writes pushes and SMS in the person's language.
    languageSwitch((locale) => api('/me', { method: 'PATCH', body: { locale } }).catch(() => {})),
    h(
      'button',
      {
        type: 'button',
        class: 'btn btn-danger logout',
        onclick: async (e) => {
          e.currentTarget.disabled = true;
          await logout();
          lastMe = null;
          leave();
        },
      },
      t('home.logout'),
    ),
  );
}

export function home(view, ctx) {
  view.title = t('home.title');
  const body = h('div');
  view.append(body);
  async function load() {
    if (lastMe) render(body, lastMe, ctx);
    else body.replaceChildren(loading());
    try {
      lastMe = await api('/me');
      render(body, lastMe, ctx);
    } catch (err) {
      if (err.status === 401) return; // the router is already on its way to login
      body.replaceChildren(h('h1', { tabindex: '-1' }, t('home.title')), errorBox(err, load));
    }
  }
  load();
}

export function forgetMe() {
  lastMe = null;
}
