/* 消防预警 service worker: offline app shell, alarm notifications, outbox replay.
 *
 * Caching: the shell ('/' = index.html, manifest, icons) is precached at install,
 * together with the hashed /assets/* files that index.html names. Navigations go
 * network-first and fall back to the cached '/'. Other /assets/* are cached the
 * first time they are fetched (their names change with their content). /api/ is
 * never cached here: the app keeps its last-known data in IndexedDB with its time.
 *
 * Push: payload {incident_id, level, kind: alarm|fire|all_clear, title, body, site,
 * receipt}. An alarm shows a notification that stays until handled
 * (requireInteraction), one per incident (tag), with "I'm checking" / "Open"
 * buttons where the browser has them; the receipt is posted at once. "I'm checking"
 * acknowledges through POST /api/v1/push/actions with the receipt token, which
 * needs no login: it works with the app closed. all_clear closes the incident's
 * notification.
 * A notice (kind: notice — a hazard past its deadline, a missed patrol, a fixed
 * hydrant) carries `url` (e.g. "/#/hazards/12"): its notification opens that screen.
 *
 * Outbox: the app queues actions in IndexedDB (src/outbox.js) and registers a
 * Background Sync 'outbox'; the sync asks an open window to replay, or replays here
 * with the access token the app shared when no window is open.
 *
 * The build stamps CACHE with a build id (see vite.config.js): every deploy yields a
 * new worker whose activate step deletes the previous build's cache.
 */
const CACHE = 'fa-shell-__BUILD_ID__';
const SHELL = [
  '/',
  '/manifest.webmanifest',
  '/icons/icon-192.png',
  '/icons/icon-512.png',
  '/icons/apple-touch-icon.png',
  '/icons/badge-96.png',
];
// The few words the worker writes itself come from the app's locale files: the page
// stores them with the chosen language in IndexedDB (main.js shareLocale). These
// stand in only before the app has ever run in this browser.
const FALLBACK_WORDS = { ack: '我在核实 / I\'m checking', open: '查看 / Open', acked: '已接警 / Acknowledged', clear: '解除 / All clear' };
const APP_NAME = '消防预警';

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(SHELL);
      // The scripts and styles the shell loads, so a first offline start works too.
      const html = await (await cache.match('/')).text();
      const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
      // and those loaded later (the QR decoder): the build writes their names here
      const later = '__BUILD_ASSETS__'.split(',').filter((a) => a.startsWith('/assets/'));
      await cache.addAll([...new Set([...assets, ...later])]);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) {
        if (key.startsWith('fa-shell-') && key !== CACHE) await caches.delete(key);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/')) return; // straight to the network, never cached here

  if (request.mode === 'navigate') {
    event.respondWith(navigate(request));
  } else if (url.pathname.startsWith('/assets/')) {
    event.respondWith(cacheFirst(request));
  } else if (SHELL.includes(url.pathname)) {
    event.respondWith(networkFirst(request));
  }
});

// Client routes all answer with index.html: keep the newest copy as '/'.
async function navigate(request) {
  try {
    const response = await fetch(request);
    if (response.ok && (response.headers.get('Content-Type') || '').includes('text/html')) {
      const cache = await caches.open(CACHE);
      await cache.put('/', response.clone());
    }
    return response;
  } catch (err) {
    const cached = await caches.match('/');
    if (cached) return cached;
    throw err;
  }
}

async function cacheFirst(request) {
  const cached = await caches.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) {
    const cache = await caches.open(CACHE);
    await cache.put(request, response.clone());
  }
  return response;
}

async function networkFirst(request) {
  try {
    const response = await fetch(request);
    if (response.ok) {
      const cache = await caches.open(CACHE);
      await cache.put(request, response.clone());
    }
    return response;
  } catch (err) {
    const cached = await caches.match(request);
    if (cached) return cached;
    throw err;
  }
}

// --- IndexedDB, shared with the page (src/db.js: same name, version, stores) ------
function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open('fa', 1);
    req.onupgradeneeded = () => {
      for (const name of ['outbox', 'cache', 'meta']) {
        if (!req.result.objectStoreNames.contains(name)) req.result.createObjectStore(name, { keyPath: name === 'outbox' ? 'id' : 'key' });
      }
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function idb(store, mode, fn) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(store, mode);
      const req = fn(tx.objectStore(store));
      tx.oncomplete = () => resolve(req && req.result);
      tx.onerror = tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}
const dbGet = (store, key) => idb(store, 'readonly', (s) => s.get(key)).catch(() => undefined);
const dbAll = (store) => idb(store, 'readonly', (s) => s.getAll()).catch(() => []);
const dbPut = (store, value) => idb(store, 'readwrite', (s) => s.put(value)).catch(() => undefined);
const SENDING_STALE_MS = 30 * 1000; // as src/outbox.js

// Take a queued outbox item in one transaction, unless the page has it (src/outbox.js claim).
async function claim(id) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction('outbox', 'readwrite');
      const store = tx.objectStore('outbox');
      let taken;
      const req = store.get(id);
      req.onsuccess = () => {
        const i = req.result;
        const now = Date.now();
        if (i && (i.state === 'queued' || (i.state === 'sending' && now - (i.sendingSince || 0) > SENDING_STALE_MS))) {
          taken = { ...i, state: 'sending', sendingSince: now };
          store.put(taken);
        }
      };
      tx.oncomplete = () => resolve(taken);
      tx.onerror = tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

// → {lang, words}
async function locale() {
  const row = await dbGet('meta', 'locale');
  return { lang: (row && row.value) || 'zh-CN', words: { ...FALLBACK_WORDS, ...((row && row.words) || {}) } };
}

async function tellWindows(message) {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  windows.forEach((c) => c.postMessage(message));
  return windows;
}

// --- push -------------------------------------------------------------------
function parse(data) {
  if (!data) return {};
  try {
    return data.json() || {};
  } catch {
    return { body: data.text() };
  }
}

const tagOf = (id) => (id != null ? `incident-${id}` : 'incident');
// A notice's own screen: a path on this origin only (never another site).
const noticeUrl = (data) => (typeof data.url === 'string' && /^\/#\/[\w/?=&-]*$/.test(data.url) ? data.url : '/#/notices');
const canShowActions = () => typeof Notification !== 'undefined' && 'maxActions' in Notification && Notification.maxActions > 0;

// The delivery receipt (the server stops the early SMS fallback for this person)
// and, for the settings screen, when the last push arrived.
async function receipt(data) {
  await dbPut('meta', { key: 'lastReceipt', at: Date.now(), incident_id: data.incident_id, kind: data.kind });
  if (!data.receipt) return;
  try {
    await fetch('/api/v1/push/receipts', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ token: data.receipt }),
    });
  } catch {
    /* offline: the server falls back to SMS, as it should */
  }
}

async function onPush(data) {
  const { words } = await locale();
  const id = data.incident_id;
  const shown = (async () => {
    if (data.kind === 'all_clear') {
      for (const n of await self.registration.getNotifications({ tag: tagOf(id) })) n.close();
      // Browsers require a visible notification per push: a quiet one that goes by itself.
      await self.registration.showNotification(data.title || words.clear, {
        body: data.body || data.site || '',
        tag: `clear-${id}`,
        icon: '/icons/icon-192.png',
        badge: '/icons/badge-96.png',
        silent: true,
        data: { incident_id: id, kind: data.kind, url: id != null ? `/#/incidents/${id}` : '/' },
      });
      return;
    }
    if (data.kind === 'notice') {
      await self.registration.showNotification(data.title || APP_NAME, {
        body: data.body || '',
        tag: `notice-${data.notice_id != null ? data.notice_id : Date.now()}`,
        icon: '/icons/icon-192.png',
        badge: '/icons/badge-96.png',
        timestamp: Date.now(),
        data: { notice_id: data.notice_id, level: data.level, kind: 'notice', url: noticeUrl(data) },
      });
      return;
    }
    const options = {
      body: data.body || '',
      tag: tagOf(id),
      renotify: true, // an update of the same incident (a confirmed fire) alerts again
      requireInteraction: true,
      icon: '/icons/icon-192.png',
      badge: '/icons/badge-96.png',
      vibrate: data.kind === 'fire' || Number(data.level) <= 2 ? [400, 150, 400, 150, 400] : [200],
      timestamp: Date.now(),
      data: { incident_id: id, level: data.level, kind: data.kind, receipt: data.receipt, url: id != null ? `/#/incidents/${id}` : '/' },
    };
    if (canShowActions()) {
      options.actions = [
        { action: 'ack', title: words.ack },
        { action: 'open', title: words.open },
      ];
    }
    await self.registration.showNotification(data.title || APP_NAME, options);
  })();
  await Promise.all([shown, receipt(data), tellWindows({ type: 'push', incident_id: id, kind: data.kind })]);
}

self.addEventListener('push', (event) => {
  event.waitUntil(onPush(parse(event.data)));
});

// --- notification taps ------------------------------------------------------------
async function openApp(url) {
  const target = new URL(url || '/', self.location.origin);
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const client = windows.find((c) => new URL(c.url).origin === target.origin);
  if (client) {
    await client.focus().catch(() => {}); // refused outside a tap: still move it to the route
    client.postMessage({ type: 'open', hash: target.hash }); // main.js moves to the route
    return client;
  }
  return self.clients.openWindow(target.href);
}

// "I'm checking" acknowledges with the delivery's token, no login and no window
// needed; when that fails (offline, already closed) the app opens on the incident.
async function handleClick(notification, action) {
  const data = notification.data || {};
  notification.close();
  if (action === 'ack' && data.receipt) {
    const { lang, words } = await locale();
    try {
      const response = await fetch('/api/v1/push/actions', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'Accept-Language': lang },
        body: JSON.stringify({ token: data.receipt, action: 'acknowledge' }),
      });
      if (response.ok) {
        await self.registration.showNotification(words.acked, {
          tag: tagOf(data.incident_id),
          icon: '/icons/icon-192.png',
          badge: '/icons/badge-96.png',
          silent: true,
          data: { incident_id: data.incident_id, kind: 'acknowledged', url: data.url },
        });
        await tellWindows({ type: 'push', incident_id: data.incident_id, kind: 'acknowledged' });
        return 'acknowledged';
      }
    } catch {
      /* offline: open the app, whose outbox keeps the action */
    }
  }
  await openApp(data.url);
  return 'opened';
}

self.addEventListener('notificationclick', (event) => {
  event.waitUntil(handleClick(event.notification, event.action));
});

// --- outbox replay (Background Sync) ------------------------------------------------
function tokenOwner(token) {
  try {
    return String(JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).sub);
  } catch {
    return null;
  }
}

// A field record (src/outbox.js sendRecord): each photo not yet uploaded (kept as
// uploaded at once), then the record with the server's photo ids. → the Response
// that decides the item's state (a refused photo's, or the record's).
function swapPhotoIds(text, ids) {
  const walk = (v) => {
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === 'photo_ids' && Array.isArray(x) ? x.map((p) => ids.get(p) || p) : walk(x)]));
    }
    return v;
  };
  return JSON.stringify(walk(JSON.parse(text)));
}

async function sendRecord(item, headers) {
  const { 'Content-Type': _json, 'Idempotency-Key': _key, ...common } = headers;
  for (const photo of item.photos || []) {
    if (photo.uploaded) continue;
    const form = new FormData();
    form.append('id', photo.id);
    form.append('file', photo.blob, `${photo.id}.jpg`);
    const response = await fetch('/api/v1/photos', { method: 'POST', headers: { ...common, 'Idempotency-Key': photo.id }, body: form });
    if (!response.ok) return response;
    const answer = await response.json();
    photo.uploaded = { id: answer.id, thumb_url: answer.thumb_url };
    await dbPut('outbox', item);
  }
  const ids = new Map((item.photos || []).map((p) => [p.id, p.uploaded.id]));
  return fetch(`/api/v1${item.path}`, { method: 'POST', headers, body: swapPhotoIds(item.body, ids) });
}

// Two sync events at once (the browser's and a retry) share one replay.
let replaying = null;
function replayOnce() {
  if (!replaying) replaying = replay().finally(() => (replaying = null));
  return replaying;
}

async function replay() {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  if (windows.length) {
    // an open page replays itself: it can renew an expired login
    windows.forEach((c) => c.postMessage({ type: 'replay' }));
    return;
  }
  const auth = await dbGet('meta', 'auth');
  if (!auth || !auth.access) return;
  const owner = tokenOwner(auth.access);
  const { lang } = await locale();
  const queued = (await dbAll('outbox')).filter((i) => i.state === 'queued' && (!i.owner || i.owner === owner));
  queued.sort((a, b) => a.createdAt - b.createdAt);
  let retryLater = false;
  for (const waiting of queued) {
    const item = await claim(waiting.id);
    if (!item) continue; // the page is sending it
    let response;
    try {
      const headers = { Accept: 'application/json', 'Accept-Language': lang, Authorization: `Bearer ${auth.access}`, 'Idempotency-Key': item.id };
      if (item.body != null) headers['Content-Type'] = 'application/json';
      if (item.path) response = await sendRecord(item, headers);
      else response = await fetch(`/api/v1/incidents/${item.incidentId}/${item.action}`, { method: 'POST', headers, body: item.body == null ? undefined : item.body });
    } catch {
      await dbPut('outbox', { ...item, state: 'queued' });
      retryLater = true;
      break;
    }
    if (response.status === 401) {
      await dbPut('outbox', { ...item, state: 'queued' });
      break; // the app renews the login and replays when it opens
    }
    const body = await response.json().catch(() => ({}));
    item.attempts = (item.attempts || 0) + 1;
    if (response.ok && item.path) {
      Object.assign(item, { state: 'sent', sentAt: Date.now(), error: null, result: body });
      item.photos = (item.photos || []).map(({ id, uploaded }) => ({ id, uploaded, blob: null }));
    } else if (response.ok) {
      Object.assign(item, { state: 'sent', sentAt: Date.now(), error: null });
      if (body && body.id != null) await dbPut('cache', { key: `/incidents/${body.id}`, data: body, at: Date.now() });
    } else {
      const error = { status: response.status, code: body.code || 'error', message: body.message || `HTTP ${response.status}` };
      const again = response.status >= 500 && item.attempts < 3;
      Object.assign(item, { state: again ? 'queued' : 'failed', error });
      if (again) retryLater = true;
    }
    await dbPut('outbox', item);
    if (retryLater) break;
  }
  await tellWindows({ type: 'outbox' });
  if (retryLater) throw new Error('outbox: the browser retries this sync later');
}

self.addEventListener('sync', (event) => {
  if (event.tag === 'outbox') event.waitUntil(replayOnce());
});
