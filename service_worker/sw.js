// staticml service worker (a module worker: site/sw_register.js registers it with {type: "module"}).
// - App shell: precaches the pages, assets, the Pyodide core, the wheels and the models' manifests
//   on install, deletes caches of older builds on activate, answers precached URLs cache-first, so
//   the site boots offline after the first visit.
// - Models: shards and shipped files live in IndexedDB keyed by sha256 (site/shard_store.js; the
//   worker's model loader verifies and writes them). Here they are only read: a request for a
//   model file that is stored is answered from IndexedDB with its Content-Type, anything else goes
//   to the network untouched. On activate, blobs no current model references are evicted; the page
//   can ask (a "state" message) which build this worker serves once that has finished.
// - Cross-origin isolation: a build made with `--cross-origin-isolated` lists COOP/COEP in `isolation`, and
//   every same-origin response this worker serves (and every same-origin page) carries them, so the site is
//   isolated from the worker's second page load on even on a host that sends no header rules (GitHub Pages);
//   site/sw_register.js reloads a first visit once for it.
// build.py prepends `self.STATICML_PRECACHE`: {version, urls: [...], models: [{id, blobs: [{url, sha256, type}]}],
// isolation: {header: value} (empty without isolation)} (URLs relative to this file).
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

const ISOLATION = Object.entries(STATICML_PRECACHE.isolation || {});

// The response with the build's COOP/COEP added (the host's own headers stay where it sent them). Opaque and
// error responses cannot be rebuilt and pass as they are.
function isolated(response) {
  if (!ISOLATION.length || response.type === "opaque" || response.type === "opaqueredirect" || response.status === 0) {
    return response;
  }
  const headers = new Headers(response.headers);
  for (const [name, value] of ISOLATION) if (!headers.has(name)) headers.set(name, value);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

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
    event.respondWith(fromIndexedDB(event.request, blob).catch(() => fetch(event.request)).then(isolated));
    return;
  }
  if (!SHELL.has(url.href)) {
    // a page outside the shell still needs COOP/COEP to be isolated; other files go to the network untouched
    if (ISOLATION.length && event.request.mode === "navigate") event.respondWith(fetch(event.request).then(isolated));
    return;
  }
  // Cache first: every shell file is either content-hashed or revalidated by a new sw.js.
  event.respondWith(caches.match(url.href, { cacheName: CACHE }).then((hit) => hit || fetch(event.request)).then(isolated));
});
