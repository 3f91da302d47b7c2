// fetch wrapper for /api/v1: JSON both ways, Bearer token, one refresh on
// token_expired, Accept-Language of the chosen locale. Every API error is JSON
// {code, message, errors}; it is thrown as ApiError with the server's message.
// A network failure is ApiError status 0 (code 'network').
import { idb, safe } from './db.js';
import { getLocale, t } from './i18n.js';

const BASE = '/api/v1';
const TIMEOUT_MS = 12000; // a request the network swallows counts as offline
const UPLOAD_TIMEOUT_MS = 90000; // a photo on a weak uplink
const ACCESS = 'fa.access';
const REFRESH = 'fa.refresh';

export class ApiError extends Error {
  constructor(status, body = {}) {
    super(body.message || t('errors.server', { status }));
    this.status = status;
    this.code = body.code || 'error';
    this.errors = body.errors && typeof body.errors === 'object' ? body.errors : {};
  }
}

const store = {
  get: (k) => {
    try {
      return localStorage.getItem(k);
    } catch {
      return null;
    }
  },
  set: (k, v) => {
    try {
      localStorage.setItem(k, v);
    } catch {
      /* storage unavailable */
    }
  },
  del: (k) => {
    try {
      localStorage.removeItem(k);
    } catch {
      /* storage unavailable */
    }
  },
};

export const isLoggedIn = () => Boolean(store.get(ACCESS));

// The user id the access token was issued to (its `sub`), to keep one login's
// queued actions from being sent with another's.
export function currentUserId() {
  try {
    const part = store.get(ACCESS).split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return String(JSON.parse(atob(part)).sub);
  } catch {
    return null;
  }
}

// The service worker cannot read localStorage: it gets the access token (never the
// refresh token) through IndexedDB, to replay the outbox with the app closed.
const shareToken = (access) => safe(access ? idb.put('meta', { key: 'auth', access }) : idb.del('meta', 'auth'));

export function saveTokens({ access_token, refresh_token }) {
  if (access_token) {
    store.set(ACCESS, access_token);
    shareToken(access_token);
  }
  if (refresh_token) store.set(REFRESH, refresh_token);
}

// Called with the reason when the login is gone (refresh failed, token revoked).
let onLoggedOut = () => {};
export function setLoggedOutHandler(fn) {
  onLoggedOut = fn;
}

// The login and everything learnt with it: tokens, last-known data.
export function clearSession() {
  store.del(ACCESS);
  store.del(REFRESH);
  shareToken(null);
  safe(idb.clear('cache'));
}

async function send(path, { method = 'GET', body, token, headers: extra } = {}) {
  const headers = { Accept: 'application/json', 'Accept-Language': getLocale(), ...extra };
  const form = typeof FormData !== 'undefined' && body instanceof FormData; // a photo: the browser sets its boundary
  if (body !== undefined && !form) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), form ? UPLOAD_TIMEOUT_MS : TIMEOUT_MS);
  let response;
  try {
    response = await fetch(BASE + path, {
      method,
      headers,
      // the outbox sends a stored body string: byte for byte the same on every replay
      body: body === undefined ? undefined : typeof body === 'string' || form ? body : JSON.stringify(body),
      cache: 'no-store',
      signal: abort.signal,
    });
  } catch {
    throw new ApiError(0, { code: 'network', message: t('errors.network') });
  } finally {
    clearTimeout(timer);
  }
  if (response.status === 204) return null;
  let data = null;
  if ((response.headers.get('Content-Type') || '').includes('json')) {
    data = await response.json().catch(() => null);
  }
  if (!response.ok) throw new ApiError(response.status, data || {});
  return data;
}

// Concurrent requests that all find the token expired share one refresh: the
// server rotates refresh tokens and treats a reused one as stolen.
let refreshing = null;
function refresh() {
  if (!refreshing) {
    const token = store.get(REFRESH);
    refreshing = (token ? send('/auth/refresh', { method: 'POST', token }) : Promise.reject(new ApiError(401)))
      .then((pair) => {
        saveTokens(pair);
        return pair.access_token;
      })
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

// api('/me'), api('/auth/login', {method: 'POST', body: {...}, auth: false})
export async function api(path, { method = 'GET', body, auth = true, headers } = {}) {
  if (!auth) return send(path, { method, body, headers });
  try {
    return await send(path, { method, body, headers, token: store.get(ACCESS) });
  } catch (err) {
    if (err.status !== 401) throw err;
    if (err.code === 'token_expired' && store.get(REFRESH)) {
      let token;
      try {
        token = await refresh();
      } catch (refreshErr) {
        if (refreshErr.status === 0) throw refreshErr; // offline: keep the login
        clearSession();
        onLoggedOut(refreshErr);
        throw refreshErr;
      }
      try {
        return await send(path, { method, body, headers, token });
      } catch (retryErr) {
        if (retryErr.status === 401) {
          clearSession();
          onLoggedOut(retryErr);
        }
        throw retryErr;
      }
    }
    clearSession();
    onLoggedOut(err);
    throw err;
  }
}

export async function logout() {
  try {
    if (isLoggedIn()) await api('/auth/logout', { method: 'POST' });
  } catch {
    /* the tokens are dropped here whatever the server says */
  } finally {
    clearSession();
  }
}

// A GET whose last good answer is kept in IndexedDB. Offline (or when the server
// cannot be reached) the kept answer comes back with stale: true and its time.
// → {data, at (ms), stale}
export async function cachedGet(path) {
  try {
    const data = await api(path);
    const at = Date.now();
    safe(idb.put('cache', { key: path, data, at }));
    return { data, at, stale: false };
  } catch (err) {
    if (err.status !== 0) throw err;
    const kept = await safe(idb.get('cache', path), null);
    if (!kept) throw err;
    return { data: kept.data, at: kept.at, stale: true };
  }
}

// The kept answer alone (to show something at once while the network answers).
export const cachedOnly = (path) => safe(idb.get('cache', path), null);
export const keep = (path, data) => safe(idb.put('cache', { key: path, data, at: Date.now() }));

// A login from before the worker shared tokens: share it now.
if (isLoggedIn()) shareToken(store.get(ACCESS));
