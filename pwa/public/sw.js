/* 消防预警 service worker: offline app shell + alarm notifications.
 *
 * Caching: the shell ('/' = index.html, manifest, icons) is precached at install,
 * together with the hashed /assets/* files that index.html names. Navigations go
 * network-first and fall back to the cached '/'. Other /assets/* are cached the
 * first time they are fetched (their names change with their content). /api/ is
 * never cached: alarm data must be live.
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

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(SHELL);
      // The scripts and styles the shell loads, so a first offline start works too.
      const html = await (await cache.match('/')).text();
      const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
      await cache.addAll([...new Set(assets)]);
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
  if (url.pathname.startsWith('/api/')) return; // straight to the network, never cached

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

// Push payload (JSON): {title, body, incident_id, level}. One notification per
// incident (tag); it stays on screen until the person acts (requireInteraction).
self.addEventListener('push', (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = { body: event.data.text() };
  }
  const id = data.incident_id;
  const options = {
    body: data.body || '',
    tag: id != null ? `incident-${id}` : 'incident',
    renotify: true, // an update of the same incident alerts again
    requireInteraction: true,
    icon: '/icons/icon-192.png',
    badge: '/icons/badge-96.png',
    vibrate: Number(data.level) <= 2 ? [400, 150, 400, 150, 400] : [200],
    timestamp: Date.now(),
    data: { incident_id: id, level: data.level, url: id != null ? `/#/incidents/${encodeURIComponent(id)}` : '/' },
  };
  // The server sends title and body in the person's language; '消防预警' is the app's name.
  event.waitUntil(self.registration.showNotification(data.title || '消防预警', options));
});

// Focus an open window of the app and show the incident there, or open a new one.
self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const target = new URL((event.notification.data && event.notification.data.url) || '/', self.location.origin);
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      const client = windows.find((c) => new URL(c.url).origin === target.origin);
      if (client) {
        await client.focus();
        client.postMessage({ type: 'open', hash: target.hash }); // main.js moves to the route
        return;
      }
      await self.clients.openWindow(target.href);
    })(),
  );
});
