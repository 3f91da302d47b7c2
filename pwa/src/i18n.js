// Every visible string comes from src/locales/*.json. Simplified Chinese by
// default; the choice is kept in localStorage. Times are shown in Asia/Shanghai.
import zhCN from './locales/zh-CN.json';
import en from './locales/en.json';

export const LOCALES = { 'zh-CN': zhCN, en };
export const DEFAULT_LOCALE = 'zh-CN';
export const TIME_ZONE = 'Asia/Shanghai';
const KEY = 'fa.locale';
const listeners = new Set();

let locale = readStored();

function readStored() {
  try {
    const stored = localStorage.getItem(KEY);
    return stored in LOCALES ? stored : DEFAULT_LOCALE;
  } catch {
    return DEFAULT_LOCALE;
  }
}

export function getLocale() {
  return locale;
}

export function setLocale(next) {
  if (!(next in LOCALES) || next === locale) return;
  locale = next;
  try {
    localStorage.setItem(KEY, next);
  } catch {
    /* private mode: the choice lasts for this page only */
  }
  document.documentElement.lang = next;
  listeners.forEach((fn) => fn(next));
}

export function onLocaleChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function lookup(table, key) {
  return key.split('.').reduce((node, part) => (node == null ? undefined : node[part]), table);
}

// t('devices.count', {count: 3}) → "共 3 台". Falls back to Chinese, then to the key.
export function t(key, params) {
  let text = lookup(LOCALES[locale], key);
  if (typeof text !== 'string') text = lookup(LOCALES[DEFAULT_LOCALE], key);
  if (typeof text !== 'string') return key;
  return params ? text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m)) : text;
}

const formats = new Map();

// An API time (ISO 8601; one without a zone is UTC) as local Shanghai time.
export function formatTime(value) {
  if (!value) return '';
  const iso = typeof value === 'string' && !/(Z|[+-]\d\d:?\d\d)$/.test(value) ? `${value}Z` : value;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(value);
  if (!formats.has(locale)) {
    formats.set(
      locale,
      new Intl.DateTimeFormat(locale, {
        timeZone: TIME_ZONE,
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      }),
    );
  }
  return formats.get(locale).format(date);
}

document.documentElement.lang = locale;

// 75 → "1 分 15 秒" / "1 min 15 s"
export function formatDuration(seconds) {
  const n = Math.max(0, Math.round(Number(seconds) || 0));
  if (n < 60) return t('seconds.s', { n });
  if (n < 3600) return t('seconds.m', { m: Math.floor(n / 60), s: n % 60 });
  return t('seconds.h', { h: Math.floor(n / 3600), m: Math.floor((n % 3600) / 60) });
}
