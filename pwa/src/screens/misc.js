// 404.
import { h } from '../dom.js';
import { t } from '../i18n.js';

export function notFound(view) {
  view.title = t('notFound.title');
  view.append(h('h1', { tabindex: '-1' }, view.title), h('a', { class: 'btn btn-secondary', href: '#/' }, t('notFound.home')));
}
