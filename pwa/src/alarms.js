// Brings the alarm screen up by itself: when an incident in my scope is open and
// nobody has acknowledged it, and I may act on it. Checked at start, every few
// seconds while the app is visible, when it comes back to the foreground or
// online, and at once when the service worker says a push arrived.
import { cachedGet, isLoggedIn } from './api.js';
import { items } from './outbox.js';
import { canAct, knownMe, loadMe } from './session.js';

export const ACTIVE = '/incidents?state=open,acknowledged,on_scene&limit=50';
const SEEN = 'fa.alarmsSeen';
const POLL_MS = 10000;

function seen() {
  try {
    return new Set(JSON.parse(sessionStorage.getItem(SEEN) || '[]'));
  } catch {
    return new Set();
  }
}

// Shown once per incident per session; after that it is on the home screen's list.
export function markSeen(id) {
  const ids = seen();
  ids.add(String(id));
  try {
    sessionStorage.setItem(SEEN, JSON.stringify([...ids].slice(-100)));
  } catch {
    /* storage unavailable */
  }
}

export const wasSeen = (id) => seen().has(String(id));

// The open incidents this person should be alarmed about, most urgent first.
export async function unhandled(list) {
  const me = (await knownMe()) || (await loadMe().then((a) => a.data, () => null));
  if (!me || !canAct(me)) return [];
  const acting = new Set((await items()).filter((i) => i.state !== 'failed').map((i) => String(i.incidentId)));
  return list
    .filter((i) => i.state === 'open' && !acting.has(String(i.id)))
    .sort((a, b) => a.level - b.level || b.id - a.id);
}

let checking = false;
async function check(go) {
  if (checking || !isLoggedIn() || document.visibilityState === 'hidden') return;
  if (document.querySelector('.alarm-screen')) return; // one alarm at a time
  checking = true;
  try {
    const { data } = await cachedGet(ACTIVE);
    const [first] = (await unhandled(data.items || [])).filter((i) => !wasSeen(i.id));
    if (first && location.hash !== `#/incidents/${first.id}`) go(`/incidents/${first.id}`);
  } catch {
    /* offline or logged out: the next check tries again */
  } finally {
    checking = false;
  }
}

export function watchAlarms(go) {
  const run = () => check(go);
  setInterval(run, POLL_MS);
  window.addEventListener('focus', run);
  window.addEventListener('online', run);
  document.addEventListener('visibilitychange', run);
  return run;
}
