// Who is logged in (GET /me, kept for offline use) and what their roles let them do.
import { cachedGet, cachedOnly } from './api.js';

// The roles the API lets act on an incident (api/incidents/services.py ACT_ROLES).
const ACT_ROLES = ['resident', 'property_staff', 'grid_worker', 'station_member', 'operator', 'admin'];
// Roles whose home shows the incidents and the device health of their scope.
const WATCH_ROLES = ['property_staff', 'grid_worker', 'station_member', 'operator', 'admin', 'maintainer'];

let me = null;

export async function loadMe() {
  const answer = await cachedGet('/me');
  me = answer.data;
  return answer;
}

// What is known without asking the network (null before the first /me).
export async function knownMe() {
  if (!me) {
    const kept = await cachedOnly('/me');
    if (kept) me = kept.data;
  }
  return me;
}

export const roles = (who = me) => new Set(((who && who.memberships) || []).map((m) => m.role));
export const canAct = (who = me) => ACT_ROLES.some((r) => roles(who).has(r));
export const watches = (who = me) => WATCH_ROLES.some((r) => roles(who).has(r));

export function forgetMe() {
  me = null;
}
