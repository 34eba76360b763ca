// staticml service worker: precaches the app shell (pages, assets, the Pyodide core, the wheels) on
// install, deletes caches of older builds on activate, and answers precached URLs from the cache so
// the site boots offline after the first visit. build.py prepends `self.STATICML_PRECACHE`:
// {version: "<hash of the shell>", urls: ["./", "./index.html", ...]} (relative to this file).
/* global STATICML_PRECACHE */
const CACHE = `staticml-shell-${STATICML_PRECACHE.version}`;
const SHELL = new Set(STATICML_PRECACHE.urls.map((u) => new URL(u, self.location).href));

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll([...SHELL])).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("staticml-shell-") && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  url.search = "";  // the app shell does not vary with query parameters (?backend=, ?dtype=)
  if (!SHELL.has(url.href)) return;
  // Cache first: every shell file is either content-hashed or revalidated by a new sw.js.
  event.respondWith(caches.match(url.href, { cacheName: CACHE }).then((hit) => hit || fetch(event.request)));
});
