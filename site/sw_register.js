// Registers the site's service worker (service_worker/sw.js, a module worker: it imports the IndexedDB
// shard store) and, where the worker can make the page cross-origin isolated, reloads the page once so it is.
// Used by app.js and by the PyScript pages the build writes (staticml.builder.pyscript_app).
//
// Why the reload: a build made with `--cross-origin-isolated` needs COOP/COEP on its pages (shared memory
// for the CPU kernels' threads; PyScript workers' DOM access). Cloudflare Pages and Vercel send them from
// `_headers` / `vercel.json`; hosts that take no header rules (GitHub Pages, a plain file server) do not, so
// the service worker adds them to every response it serves (sw.js). A page is only served by the worker
// from the moment the worker controls it, so on a first visit to such a host the page that loaded is not
// isolated: once the worker has taken control and answers this page with the headers, one reload makes it
// isolated. A page that is isolated already, a build without isolation, or a second reload in the same tab
// (the browser did not honour the headers) never reloads.
const RELOADED = "staticml-isolation-reload";

export function registerServiceWorker(url) {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register(url, { type: "module" }).catch((err) => console.warn("service worker:", err));
  if (self.crossOriginIsolated) {
    sessionStorage.removeItem(RELOADED);
    return;
  }
  if (sessionStorage.getItem(RELOADED)) {
    console.warn("service worker: this page is still not cross-origin isolated after a reload with COOP/COEP; " +
      "the CPU kernels run on one thread");
    return;
  }
  isolateOnControllerChange().catch((err) => console.warn("service worker: cross-origin isolation:", err));
}

// A page that loaded under a worker was served by it, so had that worker isolated it, it would be isolated now;
// only a worker that takes control later (a first visit's, or a new build's) can make a reload worth it.
async function isolateOnControllerChange() {
  await new Promise((resolve) => navigator.serviceWorker.addEventListener("controllerchange", resolve, { once: true }));
  // What the worker answers for this very page (its cache; no network): the build's header rules as sw.js has them.
  const response = await fetch(location.href);
  if (!response.headers.get("Cross-Origin-Embedder-Policy")) return;   // a build without isolation
  sessionStorage.setItem(RELOADED, "1");
  location.reload();
}
