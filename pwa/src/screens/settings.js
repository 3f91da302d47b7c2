// Settings: who I am, language, alarm notifications on this phone (permission,
// subscription, last push received; turn on ONLY on a tap), links to my messages
// and the outbox, log out.
import { api, logout } from '../api.js';
import { errorBox, fill, h, languageSwitch, loading, time } from '../dom.js';
import { t } from '../i18n.js';
import { clearAll, isPending, items } from '../outbox.js';
import * as push from '../push.js';
import { forgetMe, loadMe } from '../session.js';

function membership(m) {
  const where = [m.place_name && [m.place_kind && t(`placeKinds.${m.place_kind}`), m.place_name].filter(Boolean).join(' · '), m.org_name]
    .filter(Boolean)
    .join(' / ');
  return h('li', { class: 'card' }, h('strong', null, t(`roles.${m.role}`)), where && h('span', { class: 'muted block' }, where));
}

function notificationsPart() {
  const status = h('dl', { class: 'facts', id: 'push-status' });
  const message = h('div', { id: 'push-message', 'aria-live': 'polite' });
  const controls = h('div', { class: 'buttons stack-buttons' });
  const say = (text, kind = 'notice') => message.replaceChildren(text ? h('p', { class: kind }, text) : '');

  async function draw() {
    const perm = push.permission();
    const sub = await push.currentSubscription();
    const receipt = await push.lastReceipt();
    status.replaceChildren(
      h('dt', null, t('settings.permission')),
      h('dd', { 'data-permission': perm }, t(`settings.perm.${perm}`)),
      h('dt', null, t('settings.subscription')),
      h('dd', { 'data-subscribed': String(Boolean(sub)) }, sub ? t('settings.subscribed') : t('settings.notSubscribed')),
      h('dt', null, t('settings.lastReceipt')),
      h('dd', { id: 'last-receipt' }, receipt ? time(new Date(receipt.at).toISOString()) : t('settings.never')),
    );
    const ios = push.isIOS();
    const buttons = [];
    if (!push.supported()) {
      if (!ios) say(t('settings.unsupported'), 'alert');
    } else if (!sub) {
      const enable = h('button', { type: 'button', class: 'btn btn-primary', id: 'enable-push' }, t('settings.enable'));
      enable.addEventListener('click', async () => {
        enable.disabled = true;
        enable.textContent = t('settings.enabling');
        try {
          const answer = await push.enable();
          say(answer === 'granted' ? t('settings.enabled') : t('settings.deniedHelp'), answer === 'granted' ? 'notice' : 'alert');
        } catch (err) {
          say(t('settings.failed', { message: err.message }), 'alert');
        }
        draw();
      });
      buttons.push(enable);
      if (perm === 'denied') say(t('settings.deniedHelp'), 'alert');
    } else {
      buttons.push(
        h(
          'button',
          {
            type: 'button',
            class: 'btn btn-secondary',
            onclick: async () => {
              try {
                await push.disable();
                say(t('settings.disabled'));
              } catch (err) {
                say(err.message, 'alert');
              }
              draw();
            },
          },
          t('settings.disable'),
        ),
      );
    }
    if (perm === 'granted') {
      buttons.push(
        h(
          'button',
          {
            type: 'button',
            class: 'btn btn-secondary',
            'aria-describedby': 'test-server-help',
            // Through the server and the push service, as a real alarm travels.
            onclick: () =>
              api('/api/v1/me/test-alarm', { method: 'POST' })
                .then(() => say(t('settings.testSent')))
                .catch((err) => say(err.message || t('settings.testFailed'))),
          },
          t('settings.testServer'),
        ),
        h('p', { class: 'muted small', id: 'test-server-help' }, t('settings.testServerHelp')),
        h(
          'button',
          {
            type: 'button',
            class: 'btn btn-secondary',
            'aria-describedby': 'test-help',
            onclick: () => push.testNotification(t('settings.testTitle'), t('settings.testBody')).then(() => say(t('settings.testShown'))),
          },
          t('settings.test'),
        ),
        h('p', { class: 'muted small', id: 'test-help' }, t('settings.testHelp')),
      );
    }
    fill(
      controls,
      ios && h('p', { class: 'notice', id: 'ios-hint' }, push.isStandalone() ? t('settings.iosInstalled') : t('settings.iosHint')),
      ...buttons,
    );
  }
  draw();
  return h('section', { class: 'part' }, h('h2', null, t('settings.notifications')), status, controls, message);
}

export function settings(view, { leave }) {
  view.title = t('settings.title');
  const profile = h('div', null, loading());
  const logoutButton = h('button', { type: 'button', class: 'btn btn-danger logout' }, t('settings.logout'));
  logoutButton.addEventListener('click', async () => {
    const waiting = (await items()).filter(isPending).length;
    if (waiting && !window.confirm(t('settings.logoutPending', { count: waiting }))) return;
    logoutButton.disabled = true;
    await push.forget();
    await logout();
    await clearAll();
    forgetMe();
    leave();
  });
  view.append(
    h('h1', { tabindex: '-1' }, view.title),
    profile,
    h('section', { class: 'part' }, h('h2', null, t('settings.language')),
      // Also tell the server, which writes pushes and SMS in the person's language.
      languageSwitch((locale) => api('/me', { method: 'PATCH', body: { locale } }).catch(() => {}))),
    notificationsPart(),
    h(
      'ul',
      { class: 'list links' },
      h('li', null, h('a', { class: 'card link', href: '#/messages' }, t('settings.messages'))),
      h('li', null, h('a', { class: 'card link', href: '#/notices' }, t('settings.notices'))),
      h('li', null, h('a', { class: 'card link', href: '#/outbox' }, t('settings.outbox'))),
    ),
    logoutButton,
  );
  loadMe()
    .then(({ data: me }) => {
      const memberships = me.memberships || [];
      profile.replaceChildren(
        h(
          'section',
          { class: 'part' },
          h('h2', null, t('settings.profile')),
          me.name && h('p', null, h('strong', null, me.name)),
          h('dl', { class: 'facts' }, h('dt', null, t('settings.phone')), h('dd', null, me.phone)),
          memberships.length ? h('ul', { class: 'list' }, memberships.map(membership)) : h('p', { class: 'muted' }, t('home.noRoles')),
        ),
      );
    })
    .catch((err) => err.status !== 401 && profile.replaceChildren(errorBox(err)));
}
