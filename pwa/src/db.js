// A few lines of IndexedDB: one database 'fa' that the page and the service worker
// (public/sw.js opens it with the same name, version and stores) share.
//   outbox — actions waiting to reach the server (outbox.js), keyed by their UUID
//   cache  — last-known GET answers {key: path, data, at}, shown offline with "as of"
//   meta   — small facts: the access token and locale for the worker, the last push receipt
const NAME = 'fa';
const VERSION = 1;
const STORES = ['outbox', 'cache', 'meta'];

let opening = null;

function open() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const req = indexedDB.open(NAME, VERSION);
      req.onupgradeneeded = () => {
        for (const name of STORES) {
          if (!req.result.objectStoreNames.contains(name)) req.result.createObjectStore(name, { keyPath: name === 'outbox' ? 'id' : 'key' });
        }
      };
      req.onsuccess = () => {
        req.result.onversionchange = () => {
          req.result.close();
          opening = null;
        };
        resolve(req.result);
      };
      req.onerror = () => reject(req.error);
      req.onblocked = () => reject(new Error('indexedDB blocked'));
    });
    opening.catch(() => (opening = null));
  }
  return opening;
}

async function run(store, mode, fn) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(store, mode);
    const req = fn(tx.objectStore(store));
    tx.oncomplete = () => resolve(req && req.result);
    tx.onerror = tx.onabort = () => reject(tx.error);
  });
}

export const idb = {
  // change(row) → the row to write, or undefined to leave it; read and write in one
  // transaction, so the page and the service worker never both take the same item.
  update: async (store, key, change) => {
    const db = await open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(store, 'readwrite');
      let written;
      const req = tx.objectStore(store).get(key);
      req.onsuccess = () => {
        written = req.result === undefined ? undefined : change(req.result);
        if (written !== undefined) tx.objectStore(store).put(written);
      };
      tx.oncomplete = () => resolve(written);
      tx.onerror = tx.onabort = () => reject(tx.error);
    });
  },
  get: (store, key) => run(store, 'readonly', (s) => s.get(key)),
  all: (store) => run(store, 'readonly', (s) => s.getAll()),
  put: (store, value) => run(store, 'readwrite', (s) => s.put(value)),
  del: (store, key) => run(store, 'readwrite', (s) => s.delete(key)),
  clear: (store) => run(store, 'readwrite', (s) => s.clear()),
};

// Reads and writes that must never break a screen: storage can be unavailable
// (private mode, quota); the app then just works without it.
export const safe = (promise, fallback) => promise.catch(() => fallback);
