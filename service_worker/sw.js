// staticml service worker (a module worker: app.js registers it with {type: "module"}).
// - App shell: precaches the pages, assets, the Pyodide core, the wheels and the models' manifests
//   on install, deletes caches of older builds on activate, answers precached URLs cache-first, so
//   the site boots offline after the first visit.
// - Models: shards and shipped files live in IndexedDB keyed by sha256 (site/shard_store.js; the
//   worker's model loader verifies and writes them). Here they are only read: a request for a
//   model file that is stored is answered from IndexedDB with its Content-Type, anything else goes
//   to the network untouched. On activate, blobs no current model references are evicted; the page
//   can ask (a "state" message) which build this worker serves once that has finished.
// build.py prepends `self.STATICML_PRECACHE`: {version, urls: [...], models: [{id, blobs: [{url, sha256, type}]}]}
// (URLs relative to this file).
/* global STATICML_PRECACHE */
import { evictExcept, getBlob } from "./shard_store.js";

const CACHE = `staticml-shell-${STATICML_PRECACHE.version}`;
const SHELL = new Set(STATICML_PRECACHE.urls.map((u) => new URL(u, self.location).href));
const BLOBS = new Map();   // absolute URL -> {sha256, type}
for (const model of STATICML_PRECACHE.models || []) {
  for (const b of model.blobs) BLOBS.set(new URL(b.url, self.location).href, b);
}

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll([...SHELL])).then(() => self.skipWaiting()));
});

// This worker's activate step (a promise of what it removed); null in a worker restarted after activation.
let activation = null;

self.addEventListener("activate", (event) => {
  activation = (async () => {
    let caches_deleted = 0;
    for (const name of await caches.keys()) {
      if (name.startsWith("staticml-shell-") && name !== CACHE && await caches.delete(name)) caches_deleted++;
    }
    // This build's models are the current ones: shards of older versions are never read again.
    const evicted = await evictExcept(new Set([...BLOBS.values()].map((b) => b.sha256)))
      .then((blobs) => ({ blobs }), (err) => { console.warn("evict:", err); return { error: String(err && err.message || err) }; });
    await self.clients.claim();
    return { caches_deleted, evicted };
  })();
  event.waitUntil(activation);
});

// Resolves once this worker is past "activating". A message can reach a worker that is "activating"
// before its activate event has even been dispatched (seen here), so `activation` alone cannot say the
// step is done; the state "activated" can: the browser sets it only after the step's waitUntil settled.
function activated() {
  const me = self.serviceWorker;   // ServiceWorkerGlobalScope.serviceWorker; without it, `activation` is all we have
  if (!me || me.state !== "activating") return Promise.resolve();
  return new Promise((resolve) => me.addEventListener("statechange", () => { if (me.state !== "activating") resolve(); }));
}

// The page asks which build this worker serves (app.js, serviceWorkerState). The answer comes only after
// the activate step, so a reply naming a new build means the old build's shards have already been evicted.
self.addEventListener("message", (event) => {
  const port = event.ports && event.ports[0];
  if (!port || !event.data || event.data.kind !== "state") return;
  event.waitUntil((async () => {
    await activated();
    const result = activation && await activation.catch((err) => ({ error: String(err && err.message || err) }));
    port.postMessage({
      version: STATICML_PRECACHE.version,
      models: (STATICML_PRECACHE.models || []).map((m) => m.id),
      activation: result,   // {caches_deleted, evicted: {blobs} | {error}}, {error}, or null after a restart
    });
  })());
});

// Stored blobs were verified before they were written (site/shard_store.js), so they are served as they are.
async function fromIndexedDB(request, blob) {
  const data = await getBlob(blob.sha256);
  if (!data) return fetch(request);
  return new Response(data, { headers: { "Content-Type": blob.type, "Content-Length": String(data.byteLength),
    "X-Staticml-Source": "indexeddb" } });
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
