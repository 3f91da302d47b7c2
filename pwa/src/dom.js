// h('p', {class: 'x', onclick: fn}, 'text', child) — builds DOM without innerHTML,
// so names and addresses from the server can never become markup.
import { formatTime, getLocale, LOCALES, setLocale, t } from './i18n.js';

export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value == null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key in el && typeof value !== 'string') el[key] = value;
    else el.setAttribute(key, value === true ? '' : value);
  }
  el.append(...children.flat(Infinity).filter((c) => c != null && c !== false));
  return el;
}

// el.replaceChildren that skips null/false (the `cond && h(...)` pattern), nested lists too.
export function fill(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c != null && c !== false && c !== ''));
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
    { class: 'segmented', role: 'group', 'aria-label': t('settings.language') },
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

// "Updated 10:42" under fresh data; a highlighted "offline data as of …" under kept data.
export function asOf({ at, stale }) {
  return h('p', { class: stale ? 'asof stale' : 'asof' }, t(stale ? 'app.asOfStale' : 'app.asOf', { time: formatTime(at) }));
}

export const levelTag = (level) => h('span', { class: `tag level-${level}` }, t(`levels.${level}`));
export const stateTag = (state) => h('span', { class: `tag state-${state}` }, t(`states.${state}`));

// A translated name, or the code itself when the locale has none (a new condition).
export function named(group, code) {
  if (code == null) return '';
  const text = t(`${group}.${code}`);
  return text === `${group}.${code}` ? String(code).replace(/_/g, ' ') : text;
}

export const time = (value) => (value ? h('time', { datetime: value }, formatTime(value)) : null);
