import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig } from 'vite';

const outDir = 'dist';

// public/sw.js is copied verbatim; stamp it with a hash of this build's files so
// each deploy changes sw.js, the browser installs the new worker and old caches go,
// and with the list of the build's scripts and styles, which it precaches.
function stampServiceWorker() {
  let names = [];
  return {
    name: 'stamp-service-worker',
    apply: 'build',
    generateBundle(_options, bundle) {
      names = Object.keys(bundle).sort();
    },
    closeBundle() {
      const file = resolve(outDir, 'sw.js');
      const id = createHash('sha256').update(names.join('\n')).digest('hex').slice(0, 12);
      // every script and style of the build (the QR decoder is loaded only when
      // scanning, perhaps with no signal in a stairwell): the worker precaches them
      const assets = names.filter((n) => /^assets\/.+\.(js|css)$/.test(n)).map((n) => `/${n}`).join(',');
      writeFileSync(file, readFileSync(file, 'utf8').replaceAll('__BUILD_ID__', id).replaceAll('__BUILD_ASSETS__', assets));
    },
  };
}

export default defineConfig({
  base: '/',
  build: {
    outDir,
    emptyOutDir: true,
    assetsDir: 'assets',
    // Supported browsers all have <link rel=modulepreload>; skip the polyfill.
    modulePreload: { polyfill: false },
  },
  // `npm run dev` sends /api to the Flask app (`make run` serves it on :8000).
  server: {
    proxy: { '/api': process.env.API_URL || 'http://127.0.0.1:8000' },
  },
  plugins: [stampServiceWorker()],
});
