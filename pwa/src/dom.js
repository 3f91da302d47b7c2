// h('p', {class: 'x', onclick: fn}, 'text', child) — builds DOM without innerHTML,
// so names and addresses from the server can never become markup.
import { getLocale, LOCALES, setLocale, t } from './i18n.js';

export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value == null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key in el && typeof value !== 'string') el[key] = value;
    else el.setAttribute(key, value === true ? '' : value);
  }
  el.append(...children.flat().filter((c) => c != null && c !== false));
  return el;
}

export const loading = () => h('p', { class: 'muted', role: 'status' }, t('app.loading'));

// An error box with the server's message and, when given, a retry button.
export function errorBox(err, retry) {
  return h(
    'div',
    { class: 'alert', role: 'alert' },
    h('p', null, err.message),
    retry && h('button', { type: 'button', class: 'btn btn-secondary', onclick: retry }, t('app.retry')),
  );
}

// 中文 | English, each in its own language; onChange runs after the switch.
export function languageSwitch(onChange) {
  return h(
    'div',
    { class: 'segmented', role: 'group', 'aria-label': t('home.language') },
    Object.keys(LOCALES).map((code) =>
      h(
        'button',
        {
          type: 'button',
          lang: code,
          'aria-pressed': String(code === getLocale()),
          onclick: () => {
            setLocale(code);
            if (onChange) onChange(code);
          },
        },
        t(`languages.${code}`),
      ),
    ),
  );
}
