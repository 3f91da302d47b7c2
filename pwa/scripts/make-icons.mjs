// Draws the app icons (a white flame on fire-red, full bleed so they work as
// "maskable") and the notification badge (the flame alone on transparent: Android
// uses only its alpha), and writes them as PNG with Node built-ins only.
//   node scripts/make-icons.mjs   → public/icons/*.png
import { mkdirSync, writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const RED = [0xc6, 0x28, 0x28]; // theme_color #c62828
const WHITE = [0xff, 0xff, 0xff];
const SIZES = { 'icon-192.png': 192, 'icon-512.png': 512, 'apple-touch-icon.png': 180, 'icon-32.png': 32, 'badge-96.png': 96 };
const OUT = new URL('../public/icons/', import.meta.url);

// A flame between y = top and y = bottom (unit square, y down): half-width follows
// s^a (1-s)^b — a thin concave tip and a round base — around a centre line that leans.
function flame({ top, bottom, width, lean, x0 = 0.5, a = 1.3, b = 0.5 }) {
  const peak = (a / (a + b)) ** a * (b / (a + b)) ** b;
  return (x, y) => {
    const s = (y - top) / (bottom - top);
    if (s <= 0 || s >= 1) return false;
    const half = (width * s ** a * (1 - s) ** b) / peak;
    const cx = x0 + lean * (1 - s) ** 3;
    return Math.abs(x - cx) < half;
  };
}

// Everything stays inside the maskable safe zone (a circle of radius 0.4).
const outer = flame({ top: 0.15, bottom: 0.82, width: 0.2, lean: 0.07 });
const tongue = flame({ top: 0.34, bottom: 0.68, width: 0.08, lean: -0.07, x0: 0.385 });
const inner = flame({ top: 0.47, bottom: 0.75, width: 0.08, lean: -0.03 });
const isWhite = (x, y) => (outer(x, y) || tongue(x, y)) && !inner(x, y);

// badge: white with coverage as alpha (RGBA); otherwise red blended to white (RGB).
function render(size, { badge = false, samples = 4 } = {}) {
  const channels = badge ? 4 : 3;
  const row = size * channels + 1; // filter byte + pixels
  const raw = Buffer.alloc(row * size);
  for (let py = 0; py < size; py++) {
    raw[py * row] = 0; // filter: none
    for (let px = 0; px < size; px++) {
      let hits = 0; // supersampled coverage gives anti-aliased edges
      for (let sy = 0; sy < samples; sy++)
        for (let sx = 0; sx < samples; sx++)
          if (isWhite((px + (sx + 0.5) / samples) / size, (py + (sy + 0.5) / samples) / size)) hits++;
      const f = hits / (samples * samples);
      const at = py * row + 1 + px * channels;
      if (badge) raw.set([...WHITE, Math.round(255 * f)], at);
      else for (let c = 0; c < 3; c++) raw[at + c] = Math.round(RED[c] + (WHITE[c] - RED[c]) * f);
    }
  }
  return png(size, size, channels, raw);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

function png(width, height, channels, raw) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = channels === 4 ? 6 : 2; // colour type: RGBA, or RGB (opaque, as maskable icons should be)
  // compression, filter and interlace bytes stay 0
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

mkdirSync(OUT, { recursive: true });
for (const [name, size] of Object.entries(SIZES)) {
  const data = render(size, { badge: name.startsWith('badge') });
  writeFileSync(new URL(name, OUT), data);
  console.log(`${name}: ${size}x${size}, ${data.length} bytes`);
}
