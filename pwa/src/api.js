// fetch wrapper for /api/v1: JSON both ways, Bearer token, one refresh on
// token_expired, Accept-Language of the chosen locale. Every API error is JSON
// {code, message, errors}; it is thrown as ApiError with the server's message.
import { getLocale, t } from './i18n.js';

const BASE = '/api/v1';
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

export function saveTokens({ access_token, refresh_token }) {
  if (access_token) store.set(ACCESS, access_token);
  if (refresh_token) store.set(REFRESH, refresh_token);
}

// Called with the reason when the login is gone (refresh failed, token revoked).
let onLoggedOut = () => {};
export function setLoggedOutHandler(fn) {
  onLoggedOut = fn;
}

export function clearSession() {
  store.del(ACCESS);
  store.del(REFRESH);
}

async function send(path, { method = 'GET', body, token } = {}) {
  const headers = { Accept: 'application/json', 'Accept-Language': getLocale() };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, { code: 'network', message: t('errors.network') });
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
export async function api(path, { method = 'GET', body, auth = true } = {}) {
  if (!auth) return send(path, { method, body });
  try {
    return await send(path, { method, body, token: store.get(ACCESS) });
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
        return await send(path, { method, body, token });
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
