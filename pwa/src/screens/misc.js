// Small screens: an incident (a notification opens it; details come later) and 404.
import { h } from '../dom.js';
import { t } from '../i18n.js';

export function incident(view, { params }) {
  view.title = t('incident.title', { id: params[0] });
  view.append(h('h1', { tabindex: '-1' }, view.title), h('p', { class: 'muted' }, t('incident.soon')), h('a', { class: 'btn btn-secondary', href: '#/' }, t('app.back')));
}

export function notFound(view) {
  view.title = t('notFound.title');
  view.append(h('h1', { tabindex: '-1' }, view.title), h('a', { class: 'btn btn-secondary', href: '#/' }, t('notFound.home')));
}
