// Every incident action goes through here. It is written to IndexedDB first, with
// a UUID made on this phone, then sent with that UUID as its Idempotency-Key: a
// replay after a lost answer gets the server's first answer, never a second action.
// Replayed on `online`, at app start, and by the service worker's Background Sync
// (public/sw.js) where the browser has it.
//
// item: {id, owner, incidentId, action, body (the exact JSON text sent), state:
//        queued | sending | sent | failed, createdAt, sentAt, attempts, error: {status, code, message}}
// A field record (patrol record, hydrant report, inspection, hazard…) instead has
// {path, what, label, link, body (its JSON text, photo_ids as the phone's photo
// UUIDs), photos: [{id, blob, uploaded: {id, thumb_url} | null}], result}: its photos
// are uploaded first (POST /photos with their own UUID: a replay stores none twice),
// their ids swapped for the server's, then the record is posted with its UUID as
// `id` and Idempotency-Key. The Blobs are dropped once the record is sent.
import { api, currentUserId, isLoggedIn, keep } from './api.js';
import { idb, safe } from './db.js';
import { t } from './i18n.js';

export const ACTIONS = ['acknowledge', 'on-scene', 'confirm-fire', 'close'];
const SERVER_ERROR_TRIES = 3; // a 5xx is retried by the next replay, then shown as failed
const KEEP_SENT_MS = 24 * 3600 * 1000;
// An item 'sending' for longer than this was left by a page or worker that died.
export const SENDING_STALE_MS = 30 * 1000;
const listeners = new Set();
const memory = new Map(); // when IndexedDB is unavailable the outbox lives as long as the page

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function onOutboxChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
export const changed = () => listeners.forEach((fn) => fn());

async function save(item) {
  try {
    await idb.put('outbox', item);
    memory.delete(item.id);
  } catch {
    memory.set(item.id, item);
  }
}

export async function items() {
  const stored = await safe(idb.all('outbox'), []);
  const byId = new Map(stored.map((i) => [i.id, i]));
  for (const [id, item] of memory) byId.set(id, item);
  return [...byId.values()].sort((a, b) => a.createdAt - b.createdAt);
}

export const forIncident = async (id) => (await items()).filter((i) => !i.path && String(i.incidentId) === String(id));
export const isPending = (item) => item.state === 'queued' || item.state === 'sending';

// Record an action (body: an object or none) and try to send it at once.
export async function enqueue(incidentId, action, body) {
  if (!ACTIONS.includes(action)) throw new Error(`unknown action ${action}`);
  const item = {
    id: uuid(),
    owner: currentUserId(),
    incidentId: Number(incidentId),
    action,
    body: body ? JSON.stringify(body) : null,
    state: 'queued',
    createdAt: Date.now(),
    sentAt: null,
    attempts: 0,
    error: null,
  };
  await save(item);
  changed();
  requestSync();
  flush();
  return item;
}

// Record a field creation: path '/patrol-records', body (an object; its `id` is set
// to the item's UUID), photos [{id, blob}], what (outbox.kinds.<what>), label (shown
// with it), link ('#/…', '{id}' becomes the server's id once sent).
// withId: false for a body whose schema has no `id` (a review: the key alone).
export async function enqueueRecord({ id = uuid(), path, body, photos = [], what, label = '', link = null, withId = true }) {
  const item = {
    id,
    owner: currentUserId(),
    path,
    what,
    label,
    link,
    body: JSON.stringify(withId ? { ...body, id } : body),
    photos: photos.map((p) => ({ id: p.id, blob: p.blob, uploaded: null })),
    state: 'queued',
    createdAt: Date.now(),
    sentAt: null,
    attempts: 0,
    error: null,
    result: null,
  };
  await save(item);
  changed();
  requestSync();
  flush();
  return item;
}

// The body with each photo_ids entry swapped for the server's id (the same text on
// every replay, as the Idempotency-Key wants). Also in public/sw.js.
export function swapPhotoIds(text, ids) {
  const walk = (v) => {
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === 'photo_ids' && Array.isArray(x) ? x.map((p) => ids.get(p) || p) : walk(x)]));
    }
    return v;
  };
  return JSON.stringify(walk(JSON.parse(text)));
}

// A field record: its photos (each saved as uploaded at once), then the record.
async function sendRecord(item) {
  for (const photo of item.photos || []) {
    if (photo.uploaded) continue;
    const form = new FormData();
    form.append('id', photo.id);
    form.append('file', photo.blob, `${photo.id}.jpg`);
    const answer = await api('/photos', { method: 'POST', body: form, headers: { 'Idempotency-Key': photo.id } });
    photo.uploaded = { id: answer.id, thumb_url: answer.thumb_url };
    await save(item);
  }
  const ids = new Map((item.photos || []).map((p) => [p.id, p.uploaded.id]));
  const result = await api(item.path, { method: 'POST', body: swapPhotoIds(item.body, ids), headers: { 'Idempotency-Key': item.id } });
  item.photos = (item.photos || []).map(({ id, uploaded }) => ({ id, uploaded, blob: null })); // sent: free the space
  item.result = result;
  return result;
}

// The screen of what was made: '{id}' (any '{field}') filled from the server's answer.
export function resultLink(item) {
  if (!item.link || !item.link.includes('{')) return item.link;
  if (!item.result) return null;
  const link = item.link.replace(/\{(\w+)\}/g, (m, k) => (item.result[k] != null ? item.result[k] : m));
  return link.includes('{') ? null : link;
}

// Ask the service worker for a Background Sync; it replays even with the app closed.
function requestSync() {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.ready
    .then((reg) => reg.sync && reg.sync.register('outbox'))
    .catch(() => {});
}

// Take a queued item for this page, unless the service worker (or another tab) has it.
async function claim(item) {
  const now = Date.now();
  const takeable = (i) => i.state === 'queued' || (i.state === 'sending' && now - (i.sendingSince || 0) > SENDING_STALE_MS);
  if (memory.has(item.id)) {
    Object.assign(item, { state: 'sending', sendingSince: now });
    return item;
  }
  try {
    return await idb.update('outbox', item.id, (i) => (takeable(i) ? { ...i, state: 'sending', sendingSince: now } : undefined));
  } catch {
    return undefined;
  }
}

async function sendOne(queued) {
  const item = await claim(queued);
  if (!item) return false; // someone else is sending it
  changed();
  let stop = false;
  try {
    if (item.path) {
      await sendRecord(item);
    } else {
      const result = await api(`/incidents/${item.incidentId}/${item.action}`, {
        method: 'POST',
        body: item.body == null ? undefined : item.body,
        headers: { 'Idempotency-Key': item.id },
      });
      if (result && result.id != null) keep(`/incidents/${result.id}`, result);
    }
    Object.assign(item, { state: 'sent', sentAt: Date.now(), error: null });
  } catch (err) {
    item.attempts += 1;
    const error = { status: err.status, code: err.code, message: err.message };
    if (err.status === 0 || err.status === 401) {
      // offline, or the login must be renewed: wait for the next replay
      Object.assign(item, { state: 'queued', error: err.status === 401 ? error : null });
      stop = true;
    } else if (err.status >= 500 && item.attempts < SERVER_ERROR_TRIES) {
      Object.assign(item, { state: 'queued', error });
      stop = true;
    } else {
      // refused (a 409 stale action, 403, 422…): the server's message is kept and shown
      Object.assign(item, { state: 'failed', error });
    }
  }
  await save(item);
  changed();
  return stop;
}

async function drain() {
  if (!isLoggedIn()) return;
  // Known offline: nothing can go; the 'online' event replays. (A try now would only leave
  // items 'sending' while a request without network hangs or fails.)
  if (navigator.onLine === false) return;
  const me = currentUserId();
  for (const item of await items()) {
    if (item.state !== 'queued') continue;
    if (item.owner && me && item.owner !== me) {
      Object.assign(item, { state: 'failed', error: { status: 0, code: 'other_user', message: t('outbox.otherUser') } });
      await save(item);
      changed();
      continue;
    }
    if (await sendOne(item)) return;
  }
}

// One replay at a time; a call during a replay runs one more pass after it.
let running = null;
let again = false;
export function flush() {
  if (running) {
    again = true;
    return running;
  }
  running = (async () => {
    do {
      again = false;
      await drain();
    } while (again);
  })()
    .catch((err) => console.warn('outbox:', err))
    .finally(() => (running = null));
  return running;
}

export async function retry(id) {
  const item = (await items()).find((i) => i.id === id);
  if (!item) return;
  Object.assign(item, { state: 'queued', attempts: 0, error: null, owner: currentUserId() });
  await save(item);
  changed();
  flush();
}

export async function discard(id) {
  memory.delete(id);
  await safe(idb.del('outbox', id));
  changed();
}

export async function clearAll() {
  memory.clear();
  await safe(idb.clear('outbox'));
  changed();
}

// App start: an item left 'sending' by a closed page goes back to the queue; sent
// items older than a day are dropped; then replay.
export async function start() {
  const now = Date.now();
  for (const item of await items()) {
    if (item.state === 'sending' && now - (item.sendingSince || 0) > SENDING_STALE_MS) {
      item.state = 'queued';
      await save(item);
    } else if (item.state === 'sent' && now - (item.sentAt || 0) > KEEP_SENT_MS) {
      await discard(item.id);
    }
  }
  window.addEventListener('online', flush);
  changed();
  return flush();
}
