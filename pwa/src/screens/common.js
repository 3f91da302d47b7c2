// What the field screens share: a list screen's load, a checklist's submit, the
// screen's own actions waiting in the outbox.
import { asOf, errorBox, fill, h } from '../dom.js';
import { nowIso } from '../field.js';
import { t } from '../i18n.js';
import { items as outboxItems, onOutboxChange } from '../outbox.js';
import { outboxItem } from './outbox.js';

// Fills body with get()'s answer (a cachedGet answer): "as of", then the items, put in
// order by order(items) when given, as card(item) each — or `empty` when there are
// none; an error box with a retry button when the load fails (a 401 has already gone
// to the login screen). Loads now, sets view.refresh; → the load function.
export function listScreen(view, body, { get, order, card, empty }) {
  async function load() {
    try {
      const answer = await get();
      const items = answer.data.items || [];
      const list = order ? order(items.slice()) : items;
      fill(body, asOf(answer), list.length ? h('ul', { class: 'list' }, list.map(card)) : h('p', { class: 'muted' }, empty));
    } catch (err) {
      if (err.status !== 401) fill(body, errorBox(err, load));
    }
  }
  view.refresh = load;
  load();
  return load;
}

// A checklist's submit (an inspection, a patrol record). With `missing` items still
// without a result: says how many in `error` and → null. Otherwise the submit button
// shows "saving", the photo pickers finish their photos and the GPS takes its fix;
// → { at, location, photos, take }: take(picker) gives the picker's photos and adds
// them to photos, the record's list.
export async function checklistSubmit({ missing, error, submit, pickers, gps }) {
  error.hidden = !missing;
  error.textContent = missing ? t('scan.missing', { count: missing }) : '';
  if (missing) return null;
  submit.disabled = true;
  submit.textContent = t('field.saving');
  const at = nowIso();
  await Promise.all(pickers.map((p) => p.busy()));
  const location = await gps.fix();
  const photos = [];
  const take = (picker) => {
    const list = picker.photos();
    photos.push(...list);
    return list;
  };
  return { at, location, photos, take };
}

// → draw(): lists in `waiting` this screen's outbox items (those mine(item) picks) not yet sent.
export const waitingList = (waiting, mine) => async () => {
  const list = (await outboxItems()).filter((i) => mine(i) && i.state !== 'sent');
  fill(waiting, list.length > 0 && h('ul', { class: 'list outbox' }, list.map((i) => outboxItem(i))));
};

// Each outbox change: once one more of mine has reached the server, load() (the screen as
// the server has it now); otherwise draw(). → the unsubscribe, for view.cleanup.
export function reloadWhenSent(mine, load, draw) {
  let sent = null;
  const countSent = async () => (await outboxItems()).filter((i) => mine(i) && i.state === 'sent').length;
  const stop = onOutboxChange(async () => {
    const now = await countSent();
    if (sent != null && now !== sent) load();
    else draw();
    sent = now;
  });
  countSent().then((n) => (sent = n));
  return stop;
}
