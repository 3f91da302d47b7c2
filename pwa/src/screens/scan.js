// Patrols at a checkpoint.
//   #/scan          the in-app scanner (rear camera; a QR label → #/scan/<code>)
//   #/scan/<code>   the checkpoint's checklist: pass / fail / n.a. per item, notes,
//                   photos, the GPS fix → the outbox. The label holds
//                   <base>/#/scan/<code>, so the phone's own camera app opens it too.
// Offline, the checklist comes from the last answer for this code or from the
// patrol plans kept on the phone (the code starts with the checkpoint's id).
import { cachedGet } from '../api.js';
import { idb, safe } from '../db.js';
import { asOf, errorBox, fill, h, loading } from '../dom.js';
import { distanceM, distanceText, itemLabel, locator, noteField, photoPicker, resultButtons } from '../field.js';
import { getLocale, t } from '../i18n.js';
import { enqueueRecord } from '../outbox.js';
import { codeFrom, startScanner } from '../scanner.js';
import { checklistSubmit } from './common.js';
import { itemStatus } from './outbox.js';

export function scanner(view) {
  view.title = t('scan.title');
  const video = h('video', { class: 'scan-video', muted: true, playsinline: true, 'aria-label': t('scan.camera') });
  const status = h('p', { class: 'muted', role: 'status' }, t('scan.starting'));
  const manual = h('input', { id: 'scan-code', name: 'code', autocomplete: 'off', inputmode: 'url' });
  let stop = null;
  let done = false;
  const open = (text) => {
    const code = codeFrom(text);
    if (!code) {
      status.textContent = t('scan.notOurs');
      return false;
    }
    if (done) return true;
    done = true;
    if (stop) stop();
    location.hash = `#/scan/${code}`;
    return true;
  };
  view.append(
    h('h1', { tabindex: '-1' }, view.title),
    h('p', { class: 'muted' }, t('scan.help')),
    h('div', { class: 'scan-frame' }, video),
    status,
    h(
      'form',
      {
        class: 'card stack',
        onsubmit: (e) => {
          e.preventDefault();
          open(manual.value);
        },
      },
      h('div', { class: 'field' }, h('label', { for: 'scan-code' }, t('scan.manual')), manual),
      h('button', { type: 'submit', class: 'btn btn-secondary' }, t('scan.open')),
    ),
  );
  startScanner(video, open)
    .then((s) => {
      if (done || !view.isConnected) return s();
      stop = s;
      status.textContent = t('scan.aim');
    })
    .catch(() => (status.textContent = t('scan.noCamera')));
  view.cleanup = () => {
    done = true;
    if (stop) stop();
  };
}

// The checkpoint and its plan from what the phone kept (offline, never scanned here).
async function fromKeptPlans(code) {
  const id = Number(String(code).split('.')[0]);
  const kept = await safe(idb.all('cache'), []);
  for (const row of kept) {
    if (!row.key.startsWith('/patrol-plans')) continue;
    const plans = row.data && (row.data.items || (row.data.checkpoints ? [row.data] : []));
    for (const plan of plans || []) {
      const checkpoint = (plan.checkpoints || []).find((c) => c.id === id);
      if (checkpoint) return { data: { checkpoint, plan }, at: row.at, stale: true };
    }
  }
  return null;
}

export function checkpoint(view, ctx) {
  const code = ctx.params[0];
  view.title = t('scan.checklist');
  const cleanups = [];
  view.cleanup = () => cleanups.forEach((fn) => fn());
  view.append(h('h1', { tabindex: '-1' }, view.title), loading());
  async function load() {
    let answer;
    try {
      answer = await cachedGet(`/checkpoints/scan/${encodeURIComponent(code)}`);
    } catch (err) {
      if (err.status === 401) return;
      answer = err.status === 0 ? await fromKeptPlans(code) : null;
      if (!answer) {
        const message = err.status === 404 ? t('scan.unknown') : err.status === 0 ? t('scan.offlineUnknown') : err.message;
        fill(view, h('h1', { tabindex: '-1' }, view.title), errorBox({ message }, err.status === 0 ? load : null), h('a', { class: 'btn btn-secondary', href: '#/scan' }, t('scan.again')));
        return;
      }
    }
    form(answer);
  }

  function form(answer) {
    const { checkpoint: cp, plan } = answer.data;
    const locale = getLocale();
    const gps = locator();
    const results = {};
    const extras = {};
    const error = h('p', { class: 'field-error', role: 'alert', hidden: true });
    const distance = h('p', { class: 'muted small' });
    const showDistance = () => {
      const fix = gps.now();
      if (!fix || !cp.location || cp.location.lat == null) return;
      const m = distanceM(fix, cp.location);
      const far = m > (cp.radius_m || 30) + (fix.accuracy_m || 0);
      distance.textContent = t(far ? 'scan.far' : 'scan.near', { distance: distanceText(m) });
      distance.className = far ? 'warn small' : 'muted small';
    };
    gps.fix().then(showDistance);

    const items = (cp.items || []).map((item) => {
      const note = noteField(`note-${item.key}`, item.kind === 'note' ? itemLabel(item, locale) : t('field.note'));
      const picker = photoPicker({ max: 3 });
      extras[item.key] = { note, picker };
      const more = h('div', { class: 'item-more', hidden: item.kind === 'pass_fail' }, item.kind !== 'photo' && note.el, item.kind !== 'note' && picker.el);
      return h(
        'li',
        { class: 'card check-item', 'data-item': item.key },
        item.kind !== 'note' && h('p', { class: 'item-label' }, itemLabel(item, locale)),
        item.kind === 'pass_fail' &&
          resultButtons(item.key, null, (r) => {
            results[item.key] = r;
            more.hidden = r !== 'fail';
          }),
        more,
      );
    });
    const overall = noteField('patrol-note', t('scan.note'));
    const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, t('scan.submit'));
    const formEl = h(
      'form',
      {
        class: 'stack',
        novalidate: true,
        onsubmit: async (e) => {
          e.preventDefault();
          const missing = (cp.items || []).filter((i) => i.kind === 'pass_fail' && !results[i.key]).length;
          const ready = await checklistSubmit({ missing, error, submit, gps, pickers: Object.values(extras).map((x) => x.picker) });
          if (!ready) return;
          const { at, location, photos, take } = ready;
          const body = {
            checkpoint_id: cp.id,
            code,
            at,
            location,
            note: overall.area.value.trim() || null,
            items: (cp.items || []).map((i) => {
              const x = extras[i.key];
              const failed = results[i.key] === 'fail' || i.kind !== 'pass_fail';
              const mine = failed ? take(x.picker) : [];
              return {
                key: i.key,
                result: i.kind === 'pass_fail' ? results[i.key] : null,
                note: (failed && x.note.area.value.trim()) || null,
                photo_ids: mine.map((p) => p.id),
              };
            }),
          };
          const item = await enqueueRecord({ path: '/patrol-records', body, photos, what: 'patrol_record', label: cp.name, link: `#/scan/${code}` });
          done(cp, item);
        },
      },
      h('ul', { class: 'list' }, items),
      overall.el,
      gps.el,
      distance,
      error,
      submit,
    );
    fill(
      view,
      h('p', { class: 'muted' }, plan ? plan.name : ''),
      h('h1', { tabindex: '-1' }, cp.name),
      cp.instructions && h('p', { class: 'instructions' }, cp.instructions),
      answer.stale && asOf(answer),
      formEl,
    );
  }

  // Saved: its state from the outbox; once the record is on the server, a failed item
  // can become a hazard in one tap (outbox.js hazardFromItem).
  function done(cp, item) {
    const status = itemStatus(item.id); // a sent record's card offers its failed items as hazards
    cleanups.push(status.cleanup);
    fill(
      view,
      h('h1', { tabindex: '-1' }, t('scan.saved')),
      h('p', null, cp.name),
      status.el,
      h('div', { class: 'buttons stack-buttons' }, h('a', { class: 'btn btn-primary', href: '#/scan' }, t('scan.next')), h('a', { class: 'btn btn-secondary', href: '#/patrols' }, t('patrols.title'))),
    );
    view.querySelector('h1').focus();
  }
  load();
}
