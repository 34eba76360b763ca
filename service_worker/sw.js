// staticml service worker (a module worker: app.js registers it with {type: "module"}).
// - App shell: precaches the pages, assets, the Pyodide core, the wheels and the models' manifests
//   on install, deletes caches of older builds on activate, answers precached URLs cache-first, so
//   the site boots offline after the first visit.
// - Models: shards and shipped files live in IndexedDB keyed by sha256 (site/shard_store.js; the
//   worker's model loader verifies and writes them). Here they are only read: a request for a
//   model file that is stored is answered from IndexedDB with its Content-Type, anything else goes
//   to the network untouched. On activate, blobs no current model references are evicted.
// build.py prepends `self.STATICML_PRECACHE`: {version, urls: [...], models: [{id, blobs: [{url, sha256, type}]}]}
// (URLs relative to this file).
/* global STATICML_PRECACHE */
import { evictExcept, getBlob, presentKeys } from "./shard_store.js";

const CACHE = `staticml-shell-${STATICML_PRECACHE.version}`;
const SHELL = new Set(STATICML_PRECACHE.urls.map((u) => new URL(u, self.location).href));
const BLOBS = new Map();   // absolute URL -> {sha256, type}
for (const model of STATICML_PRECACHE.models || []) {
  for (const b of model.blobs) BLOBS.set(new URL(b.url, self.location).href, b);
}

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll([...SHELL])).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("staticml-shell-") && name !== CACHE) await caches.delete(name);
    }
    // This build's models are the current ones: shards of older versions are never read again.
    await evictExcept(new Set([...BLOBS.values()].map((b) => b.sha256))).catch((err) => console.warn("evict:", err));
    await self.clients.claim();
  })());
});

async function fromIndexedDB(request, blob) {
  if ((await presentKeys()).has(blob.sha256)) {
    const data = await getBlob(blob.sha256);
    if (data) {
      return new Response(data, { headers: { "Content-Type": blob.type, "Content-Length": String(data.byteLength),
        "X-Staticml-Source": "indexeddb" } });
    }
  }
  return fetch(request);
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  url.search = "";  // the app shell does not vary with query parameters (?backend=, ?dtype=)
  const blob = BLOBS.get(url.href);
  if (blob) {
    event.respondWith(fromIndexedDB(event.request, blob).catch(() => fetch(event.request)));
    return;
  }
  if (!SHELL.has(url.href)) return;
  // Cache first: every shell file is either content-hashed or revalidated by a new sw.js.
  event.respondWith(caches.match(url.href, { cacheName: CACHE }).then((hit) => hit || fetch(event.request)));
});
