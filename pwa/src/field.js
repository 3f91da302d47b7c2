// Pieces the field screens share: photos resized on the phone, a GPS fix that never
// holds up saving, pass / fail / n.a. buttons, distances.
import { h } from './dom.js';
import { t } from './i18n.js';
import { uuid } from './outbox.js';

export const MAX_SIDE = 1600; // px, the longer side of a stored photo
const QUALITY = 0.82;
const FIX_WAIT_MS = 8000; // how long saving waits for a first fix (a stairwell may have none)

// A photo as a JPEG whose longer side is at most MAX_SIDE: less IndexedDB space and
// less to push through a weak uplink. Decoding fails (an odd format)? The file as is.
export async function resizePhoto(file) {
  try {
    const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
    const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    const blob = await new Promise((done) => canvas.toBlob(done, 'image/jpeg', QUALITY));
    return blob && (scale < 1 || blob.size < file.size) ? blob : file;
  } catch {
    return file;
  }
}

// "Add photo" (the camera on a phone) with thumbnails that can be removed.
// → {el, photos: () => [{id, blob}], busy: () => Promise (resizing still running)}
export function photoPicker({ max = 5, label = t('field.addPhoto'), name = 'photo' } = {}) {
  const photos = [];
  const urls = new Map();
  let pending = Promise.resolve();
  const thumbs = h('ul', { class: 'photo-thumbs' });
  const input = h('input', { type: 'file', accept: 'image/*', capture: 'environment', class: 'visually-hidden', name, 'data-photo-input': '' });
  const button = h('label', { class: 'btn btn-secondary photo-add' }, input, h('span', null, label));
  const count = h('p', { class: 'muted small', 'aria-live': 'polite' });
  function draw() {
    thumbs.replaceChildren(
      ...photos.map((p, i) =>
        h(
          'li',
          null,
          h('img', { src: urls.get(p.id), alt: t('field.photoN', { n: i + 1 }), width: '72', height: '72' }),
          h('button', { type: 'button', class: 'btn-remove', 'aria-label': t('field.removePhoto', { n: i + 1 }), onclick: () => remove(p.id) }, '×'),
        ),
      ),
    );
    count.textContent = photos.length ? t('field.photoCount', { count: photos.length }) : '';
    button.hidden = photos.length >= max;
  }
  function remove(id) {
    const at = photos.findIndex((p) => p.id === id);
    if (at >= 0) photos.splice(at, 1);
    URL.revokeObjectURL(urls.get(id));
    urls.delete(id);
    draw();
  }
  input.addEventListener('change', () => {
    const files = [...input.files].slice(0, max - photos.length);
    input.value = '';
    pending = pending.then(async () => {
      for (const file of files) {
        const blob = await resizePhoto(file);
        const photo = { id: uuid(), blob };
        photos.push(photo);
        urls.set(photo.id, URL.createObjectURL(blob));
      }
      draw();
    });
  });
  draw();
  return {
    el: h('div', { class: 'photo-picker' }, button, count, thumbs),
    photos: () => photos.slice(),
    busy: () => pending,
  };
}

// Starts asking for a fix at once, so it is usually there by the time the form is
// sent. → {el (what is known), fix(): Promise<{lat, lng, accuracy_m} | null>} that
// waits at most a few seconds more.
export function locator() {
  const el = h('p', { class: 'muted small gps', 'aria-live': 'polite' }, t('field.locating'));
  let best = null;
  let settled = false;
  let resolveFirst;
  const first = new Promise((done) => (resolveFirst = done));
  const show = () => {
    el.textContent = best ? t('field.located', { m: Math.round(best.accuracy_m) }) : t('field.noFix');
    el.dataset.fix = best ? 'yes' : 'no';
  };
  if (!('geolocation' in navigator)) {
    settled = true;
    show();
    resolveFirst();
  } else {
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        best = { lat: pos.coords.latitude, lng: pos.coords.longitude, accuracy_m: Math.round(pos.coords.accuracy * 10) / 10 };
        settled = true;
        show();
        resolveFirst();
      },
      () => {
        settled = true;
        show();
        resolveFirst();
      },
      { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 },
    );
  }
  return {
    el,
    fix: async () => {
      if (!settled) await Promise.race([first, new Promise((done) => setTimeout(done, FIX_WAIT_MS))]);
      if (!settled) el.textContent = t('field.noFix');
      return best;
    },
    now: () => best,
  };
}

// Pass / fail / n.a. as three big toggle buttons (a radio group).
export function resultButtons(name, value, onChange) {
  const group = h('div', { class: 'results', role: 'radiogroup', 'aria-label': t('field.result') });
  const options = ['pass', 'fail', 'na'];
  const draw = (current) =>
    group.replaceChildren(
      ...options.map((r) =>
        h(
          'button',
          {
            type: 'button',
            role: 'radio',
            class: `btn btn-result result-${r}`,
            'data-result': r,
            'aria-checked': String(current === r),
            onclick: () => {
              draw(r);
              onChange(r);
            },
          },
          t(`field.results.${r}`),
        ),
      ),
    );
  draw(value);
  return group;
}

export function distanceText(m) {
  if (m == null) return '';
  return m < 1000 ? t('field.meters', { m: Math.round(m) }) : t('field.km', { km: (m / 1000).toFixed(1) });
}

// Metres between two WGS-84 points.
export function distanceM(a, b) {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLng = (b.lng - a.lng) * rad;
  const x = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLng / 2) ** 2;
  return 6371000 * 2 * Math.asin(Math.sqrt(x));
}

// The label of a checklist item in the chosen language.
export const itemLabel = (item, locale) => (locale === 'en' && item.label_en) || item.label || item.key;

// A text area with its label.
export function noteField(id, label, value = '', max = 1000) {
  const area = h('textarea', { id, name: id, maxlength: String(max), rows: '2' });
  area.value = value;
  return { el: h('div', { class: 'field' }, h('label', { for: id }, label), area), area };
}

// The photos a server answer lists (signed thumbnail links).
export function photoStrip(photos) {
  if (!photos || !photos.length) return null;
  return h(
    'ul',
    { class: 'photo-thumbs' },
    photos.map((p, i) => h('li', null, h('a', { href: p.url, target: '_blank', rel: 'noopener' }, h('img', { src: p.thumb_url, alt: t('field.photoN', { n: i + 1 }), width: '72', height: '72', loading: 'lazy' })))),
  );
}

// A local date (YYYY-MM-DD in an <input type=date>) as the end of that day in Shanghai.
export const endOfDay = (date) => (date ? `${date}T23:59:00+08:00` : null);
export const nowIso = () => new Date().toISOString();
