// App start: layout, a tiny hash router, the alarm watcher, the outbox and the
// service worker.
//   #/login  #/  #/devices  #/incidents/<id> (alarm or incident)  #/messages
//   #/settings  #/outbox
//   field work: #/field  #/scan  #/scan/<code>  #/patrols  #/hydrants[/<id>[/report]]
//   #/hydrants/report  #/hydrant-reports  #/work-orders[/<id>]  #/hazards[/<id>]
//   #/inspections  #/inspections/new/<site>  #/inspections/<id>  #/notices
import './style.css';
import { isLoggedIn, setLoggedOutHandler } from './api.js';
import { watchAlarms } from './alarms.js';
import { idb, safe } from './db.js';
import { h } from './dom.js';
import { getLocale, onLocaleChange, t } from './i18n.js';
import * as outbox from './outbox.js';
import { resync } from './push.js';
import { devices } from './screens/devices.js';
import { field } from './screens/field.js';
import { hazard, hazards, inspection, inspectionForm, inspections } from './screens/hazards.js';
import { hydrant, hydrantReport, hydrants, myReports, workOrder, workOrders } from './screens/hydrants.js';
import { notices } from './screens/notices.js';
import { patrols } from './screens/patrols.js';
import { checkpoint, scanner } from './screens/scan.js';
import { home } from './screens/home.js';
import { incident } from './screens/incident.js';
import { login } from './screens/login.js';
import { messages } from './screens/messages.js';
import { notFound } from './screens/misc.js';
import { outboxScreen } from './screens/outbox.js';
import { settings } from './screens/settings.js';
import { forgetMe } from './session.js';

const ROUTES = [
  { path: /^\/login$/, screen: login, open: true },
  { path: /^\/$/, screen: home, nav: 'home' },
  { path: /^\/devices$/, screen: devices, nav: 'devices' },
  { path: /^\/incidents\/(\d+)$/, screen: incident },
  { path: /^\/messages$/, screen: messages, nav: 'messages' },
  { path: /^\/settings$/, screen: settings, nav: 'settings' },
  { path: /^\/outbox$/, screen: outboxScreen, nav: 'settings' },
  { path: /^\/field$/, screen: field, nav: 'field' },
  { path: /^\/scan$/, screen: scanner, nav: 'field' },
  { path: /^\/scan\/([A-Za-z0-9._-]+)$/, screen: checkpoint, nav: 'field' },
  { path: /^\/patrols$/, screen: patrols, nav: 'field' },
  { path: /^\/hydrants$/, screen: hydrants, nav: 'field' },
  { path: /^\/hydrants\/report$/, screen: hydrantReport, nav: 'field' },
  { path: /^\/hydrants\/(\d+)$/, screen: hydrant, nav: 'field' },
  { path: /^\/hydrants\/(\d+)\/report$/, screen: hydrantReport, nav: 'field' },
  { path: /^\/hydrant-reports$/, screen: myReports, nav: 'field' },
  { path: /^\/work-orders$/, screen: workOrders, nav: 'field' },
  { path: /^\/work-orders\/(\d+)$/, screen: workOrder, nav: 'field' },
  { path: /^\/hazards$/, screen: hazards, nav: 'field' },
  { path: /^\/hazards\/(\d+)$/, screen: hazard, nav: 'field' },
  { path: /^\/inspections$/, screen: inspections, nav: 'field' },
  { path: /^\/inspections\/new\/(\d+)$/, screen: inspectionForm, nav: 'field' },
  { path: /^\/inspections\/(\d+)$/, screen: inspection, nav: 'field' },
  { path: /^\/notices$/, screen: notices, nav: 'messages' },
];
const NEXT = 'fa.next'; // where to go after logging in
const TABS = [
  ['home', '#/'],
  ['field', '#/field'],
  ['devices', '#/devices'],
  ['messages', '#/messages'],
  ['settings', '#/settings'],
];

const root = document.getElementById('app');
const offline = h('p', { class: 'offline', role: 'status', hidden: navigator.onLine });
const waiting = h('a', { class: 'waiting', href: '#/outbox', hidden: true });
const header = h('header', { class: 'bar' });
const main = h('main', { id: 'main' });
const nav = h('nav', { class: 'tabs' });
root.replaceChildren(header, offline, waiting, main, nav);

let current = null; // the shown view (a <section>)
let first = true;

const path = () => decodeURI(location.hash.replace(/^#/, '')) || '/';
const go = (to) => {
  if (path() === to) render();
  else location.hash = `#${to}`;
};

function chrome(active) {
  header.replaceChildren(h('span', { class: 'brand' }, t('app.name')));
  offline.textContent = t('app.offline');
  nav.hidden = !isLoggedIn();
  nav.setAttribute('aria-label', t('nav.label'));
  nav.replaceChildren(...TABS.map(([key, href]) => h('a', { href, 'aria-current': key === active ? 'page' : null }, t(`nav.${key}`))));
  showWaiting();
}

// "2 actions waiting to send" / "1 action failed" under the bar, on every screen.
async function showWaiting() {
  const all = await outbox.items();
  const pending = all.filter(outbox.isPending).length;
  const failed = all.filter((i) => i.state === 'failed').length;
  waiting.hidden = !isLoggedIn() || (!pending && !failed) || path() === '/outbox';
  waiting.className = failed ? 'waiting failed' : 'waiting';
  waiting.textContent = [pending && t('outbox.pending', { count: pending }), failed && t('outbox.failedCount', { count: failed })]
    .filter(Boolean)
    .join(' · ');
}

function render() {
  const where = path();
  const route = ROUTES.find((r) => r.path.test(where));
  if (route && !route.open && !isLoggedIn()) {
    sessionStorage.setItem(NEXT, where);
    return go('/login');
  }
  if (route && route.screen === login && isLoggedIn()) return go('/');
  if (current && current.cleanup) current.cleanup();

  const view = h('section');
  view.rerender = render;
  const ctx = {
    params: route ? where.match(route.path).slice(1) : [],
    done: () => {
      const next = sessionStorage.getItem(NEXT) || '/';
      sessionStorage.removeItem(NEXT);
      afterLogin();
      go(next === '/login' ? '/' : next);
    },
    leave: () => go('/login'),
  };
  chrome(route && route.nav);
  (route ? route.screen : notFound)(view, ctx);
  main.replaceChildren(view);
  current = view;
  document.title = view.title ? `${view.title} · ${t('app.name')}` : t('app.name');
  // Move focus to the new heading so screen readers announce the screen.
  if (!first) (view.querySelector('h1') || main).focus({ preventScroll: false });
  first = false;
  window.scrollTo(0, 0);
}

const checkAlarms = watchAlarms(go);

function afterLogin() {
  outbox.flush();
  resync();
  checkAlarms();
}

setLoggedOutHandler(() => {
  forgetMe();
  if (path() !== '/login') {
    sessionStorage.setItem(NEXT, path());
    go('/login');
  }
});
// The service worker has no locale files: it gets the chosen language and the few
// words it writes itself (notification buttons) from here, through IndexedDB.
const shareLocale = () =>
  safe(
    idb.put('meta', {
      key: 'locale',
      value: getLocale(),
      words: Object.fromEntries(['ack', 'open', 'acked', 'clear'].map((k) => [k, t(`notification.${k}`)])),
    }),
  );
onLocaleChange(() => (shareLocale(), render()));
window.addEventListener('hashchange', render);
window.addEventListener('online', () => {
  offline.hidden = true;
  if (current && current.refresh) current.refresh();
});
window.addEventListener('offline', () => (offline.hidden = false));
outbox.onOutboxChange(showWaiting);
render();
shareLocale();
outbox.start();
if (isLoggedIn()) afterLogin();

if ('serviceWorker' in navigator && import.meta.env.PROD) {
  navigator.serviceWorker.addEventListener('message', (event) => {
    const data = event.data || {};
    if (data.type === 'open' && /^#\/[\w/-]*$/.test(data.hash || '')) {
      // a tapped notification: its incident (as the alarm screen if still open) or a notice's screen
      location.hash = data.hash;
    } else if (data.type === 'push') {
      // a push arrived while the app is open: show the alarm now, not at the next poll
      if (data.kind === 'all_clear' || data.kind === 'acknowledged') {
        if (current && current.refresh) current.refresh();
      } else if (data.incident_id != null && !document.querySelector('.alarm-screen')) {
        go(`/incidents/${data.incident_id}`);
      }
    } else if (data.type === 'replay') {
      outbox.flush(); // Background Sync fired: this page replays (it can renew the login)
    } else if (data.type === 'outbox') {
      outbox.changed(); // the worker replayed with the app closed
    }
  });
  navigator.serviceWorker.startMessages();
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((err) => console.warn('service worker:', err));
  });
}
