// Web Push on this phone: permission is asked ONLY when the person taps "turn on";
// then subscribe with the server's VAPID key and hand the subscription to the API.
import { api } from './api.js';
import { idb, safe } from './db.js';

export const supported = () => 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
export const permission = () => ('Notification' in window ? Notification.permission : 'unsupported');

export const isIOS = () => /iPad|iPhone|iPod/.test(navigator.userAgent) || (navigator.platform === 'MacIntel' && navigator.maxTouchPoints > 1);
export const isStandalone = () => window.matchMedia('(display-mode: standalone)').matches || navigator.standalone === true;

function keyBytes(base64url) {
  const text = atob(base64url.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(base64url.length / 4) * 4, '='));
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

async function registration() {
  return navigator.serviceWorker.ready;
}

export async function currentSubscription() {
  if (!supported()) return null;
  try {
    return await (await registration()).pushManager.getSubscription();
  } catch {
    return null;
  }
}

// The time the service worker last saw a push arrive (it writes IndexedDB).
export const lastReceipt = () => safe(idb.get('meta', 'lastReceipt'), null);

export async function enable() {
  const answer = await Notification.requestPermission();
  if (answer !== 'granted') return answer;
  const reg = await registration();
  let sub = await reg.pushManager.getSubscription();
  if (!sub) {
    const { public_key } = await api('/push/vapid-public-key', { auth: false });
    sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(public_key) });
  }
  await api('/push/subscriptions', { method: 'POST', body: sub.toJSON() });
  return 'granted';
}

export async function disable() {
  const sub = await currentSubscription();
  if (!sub) return;
  await api('/push/subscriptions', { method: 'DELETE', body: { endpoint: sub.endpoint } }).catch((err) => {
    if (err.status !== 404) throw err;
  });
  await sub.unsubscribe();
}

// At start: a subscription this browser already has is (re)assigned to whoever is
// logged in now, so the person holding the phone gets the alarms.
export async function resync() {
  if (permission() !== 'granted') return;
  const sub = await currentSubscription();
  if (sub) await api('/push/subscriptions', { method: 'POST', body: sub.toJSON() }).catch(() => {});
}

// On logout this phone stops receiving that person's alarms.
export async function forget() {
  const sub = await currentSubscription();
  if (sub) await api('/push/subscriptions', { method: 'DELETE', body: { endpoint: sub.endpoint } }).catch(() => {});
}

export async function testNotification(title, body) {
  const reg = await registration();
  await reg.showNotification(title, { body, tag: 'test', icon: '/icons/icon-192.png', badge: '/icons/badge-96.png' });
}
