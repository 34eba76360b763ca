// Page script: starts the worker, renders status, exposes window.staticml for people and automation.
// It never runs Python or touches the GPU, so the page stays responsive while Pyodide boots.
const config = JSON.parse(document.getElementById("staticml-config").textContent);
const $ = (id) => document.getElementById(id);

function show(text, state) {
  $("status").textContent = text;
  document.body.dataset.state = state;
}

if ("serviceWorker" in navigator && config.serviceWorker) {
  navigator.serviceWorker.register(config.serviceWorker).catch((err) => console.warn("service worker:", err));
}

const abs = (path) => new URL(path, document.baseURI).href;
const worker = new Worker(abs(config.worker), { type: "module" });
let info = null;
let nextId = 1;
const pending = new Map();

const ready = new Promise((resolve, reject) => {
  worker.onmessage = (event) => {
    const msg = event.data;
    if (msg.kind === "status") show(msg.text, "booting");
    else if (msg.kind === "ready") { info = msg.info; render(info); resolve(info); }
    else if (msg.kind === "failed") { fail(msg.message); reject(new Error(msg.message)); }
    else if (msg.kind === "reply") {
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (p) msg.ok ? p.resolve(msg.value) : p.reject(new Error(msg.message));
    }
  };
  worker.onerror = (event) => {
    const message = `the staticml worker failed to start: ${event.message || "script error"}`;
    fail(message);
    reject(new Error(message));
  };
});
ready.catch(() => {});  // the page shows the error; callers of staticml.ready still see the rejection

function fail(message) {
  show("Error: " + message, "failed");
}

function render(i) {
  const a = i.adapter;
  show(`Ready: backend ${i.backend} on ${a.description || a.architecture || a.vendor || "unknown adapter"}` +
       (a.isFallbackAdapter || a.architecture === "swiftshader" ? " (software adapter: correct but slow)" : ""), "ready");
  $("details").textContent = JSON.stringify(i, null, 2);
}

function call(method, args) {
  return ready.then(() => new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    worker.postMessage({ kind: "call", id, method, args });
  }));
}

window.staticml = {
  ready,
  info: () => (info ? structuredClone(info) : null),
  selftest: () => call("selftest", {}),
  // Every URL the page and its worker fetched so far (Resource Timing): what this site downloaded.
  requests: async () => [
    location.href,
    ...performance.getEntriesByType("resource").map((e) => e.name),
    ...(await call("requests", {})),
  ],
};

$("selftest").addEventListener("click", async () => {
  $("selftest-result").textContent = "running…";
  try {
    const r = await window.staticml.selftest();
    $("selftest-result").textContent = `${r.ok ? "passed" : "FAILED"} (max abs error ${r.max_abs_err})`;
  } catch (err) {
    $("selftest-result").textContent = "error: " + err.message;
  }
});

show("starting the worker…", "booting");
worker.postMessage({
  kind: "boot",
  config: {
    pyodideIndex: abs(config.pyodideIndex), lockfile: abs(config.lockfile), packages: config.packages,
    options: Object.fromEntries(new URLSearchParams(location.search)),
  },
});
