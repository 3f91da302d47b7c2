// App start: layout, a tiny hash router (#/login, #/, #/devices, #/incidents/<id>)
// and the service worker.
import './style.css';
import { isLoggedIn, setLoggedOutHandler } from './api.js';
import { h } from './dom.js';
import { onLocaleChange, t } from './i18n.js';
import { devices } from './screens/devices.js';
import { forgetMe, home } from './screens/home.js';
import { login } from './screens/login.js';
import { incident, notFound } from './screens/misc.js';

const ROUTES = [
  { path: /^\/login$/, screen: login, open: true },
  { path: /^\/$/, screen: home, nav: 'home' },
  { path: /^\/devices$/, screen: devices, nav: 'devices' },
  { path: /^\/incidents\/([^/]+)$/, screen: incident },
];
const NEXT = 'fa.next'; // where to go after logging in

const root = document.getElementById('app');
const offline = h('p', { class: 'offline', role: 'status', hidden: navigator.onLine });
const header = h('header', { class: 'bar' });
const main = h('main', { id: 'main' });
const nav = h('nav', { class: 'tabs' });
root.replaceChildren(header, offline, main, nav);

let current = null; // the shown view (a <section>) and its route
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
  nav.replaceChildren(
    ...[
      ['home', '#/', t('nav.home')],
      ['devices', '#/devices', t('nav.devices')],
    ].map(([key, href, label]) => h('a', { href, 'aria-current': key === active ? 'page' : null }, label)),
  );
}

function render() {
  const where = path();
  let route = ROUTES.find((r) => r.path.test(where));
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

setLoggedOutHandler(() => {
  forgetMe();
  if (path() !== '/login') {
    sessionStorage.setItem(NEXT, path());
    go('/login');
  }
});
onLocaleChange(render);
window.addEventListener('hashchange', render);
window.addEventListener('online', () => (offline.hidden = true));
window.addEventListener('offline', () => (offline.hidden = false));
render();

if ('serviceWorker' in navigator && import.meta.env.PROD) {
  // A tapped notification asks an open window to show its incident.
  navigator.serviceWorker.addEventListener('message', (event) => {
    if (event.data && event.data.type === 'open' && /^#\//.test(event.data.hash || '')) location.hash = event.data.hash;
  });
  navigator.serviceWorker.startMessages();
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((err) => console.warn('service worker:', err));
  });
}
