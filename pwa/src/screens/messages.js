// My messages: every SMS, WeChat, voice call and push the platform sent me
// (GET /me/notifications; in development the SMS/WeChat/voice channels end here).
import { cachedGet } from '../api.js';
import { asOf, errorBox, h, loading, named, time } from '../dom.js';
import { t } from '../i18n.js';

function message(n) {
  const last = (n.deliveries || []).slice(-1)[0];
  return h(
    'li',
    { class: `card message kind-${n.kind}` },
    h(
      'div',
      { class: 'row' },
      h('strong', null, named('messages.channels', n.channel), ' · ', named('messages.kinds', n.kind)),
      last && h('span', { class: `tag delivery-${last.state}` }, named('messages.delivery', last.state)),
    ),
    h('p', { class: 'message-text' }, n.text),
    h(
      'p',
      { class: 'muted small' },
      time(n.created_at),
      n.incident_id != null && [' · ', h('a', { href: `#/incidents/${n.incident_id}` }, t('messages.open'))],
    ),
  );
}

export function messages(view) {
  view.title = t('messages.title');
  const body = h('div', null, loading());
  view.append(h('h1', { tabindex: '-1' }, view.title), h('p', { class: 'muted' }, t('messages.help')), body);
  async function load() {
    try {
      const answer = await cachedGet('/me/notifications');
      body.replaceChildren(
        asOf(answer),
        answer.data.length ? h('ul', { class: 'list' }, answer.data.map(message)) : h('p', { class: 'muted' }, t('messages.empty')),
      );
    } catch (err) {
      if (err.status === 401) return;
      body.replaceChildren(errorBox(err, load));
    }
  }
  view.refresh = load;
  load();
}
