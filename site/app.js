// Page script: starts the worker, renders status, exposes window.staticml for people and automation.
// It never runs Python or touches the GPU, so the page stays responsive while Pyodide boots.
const config = JSON.parse(document.getElementById("staticml-config").textContent);
const $ = (id) => document.getElementById(id);

function show(text, state) {
  $("status").textContent = text;
  document.body.dataset.state = state;
}

if ("serviceWorker" in navigator && config.serviceWorker) {
  // a module worker: it imports the IndexedDB shard store (see service_worker/sw.js)
  navigator.serviceWorker.register(config.serviceWorker, { type: "module" }).catch((err) => console.warn("service worker:", err));
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
    else if (msg.kind === "ready") { info = msg.info; render(info); renderModels(info.cache); resolve(info); }
    else if (msg.kind === "progress") {
      showProgress(msg);
      // for pages built on staticml: {model, done, total} in bytes
      window.dispatchEvent(new CustomEvent("staticml:progress", { detail: { model: msg.model, done: msg.done, total: msg.total } }));
    }
    else if (msg.kind === "cache") { if (info) info.cache = msg.state; renderModels(msg.state); }
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

function send(method, args) {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    worker.postMessage({ kind: "call", id, method, args });
  });
}

function call(method, args) {
  return ready.then(() => send(method, args));
}

// Models: one row per model with a download button and a progress bar (bytes done / total).
const models = config.models || [];
const modelRow = (id) => document.querySelector(`[data-model="${CSS.escape(id)}"]`);

function renderModels(cache) {
  const box = $("models");
  box.hidden = models.length === 0;
  for (const m of models) {
    let row = modelRow(m.id);
    if (!row) {
      row = document.createElement("div");
      row.className = "model";
      row.dataset.model = m.id;
      row.innerHTML = `<span class="model-name"></span> <button type="button">Download for offline use</button>
        <progress max="1" value="0"></progress> <span class="model-status" aria-live="polite"></span>`;
      row.querySelector(".model-name").textContent = `${m.id} (${(m.total_bytes / 2 ** 20).toFixed(1)} MiB)`;
      row.querySelector("button").addEventListener("click", () => downloadFromButton(m.id));
      box.append(row);
    }
    const state = cache && cache.models && cache.models[m.id];
    if (state && !state.error) {
      row.querySelector("progress").value = state.bytes_present / (state.bytes_total || 1);
      if (row.dataset.error !== "true") {   // an error stays visible until the next download attempt
        row.querySelector(".model-status").textContent = state.complete ? "stored on this device: works offline"
          : `${state.blobs_present} of ${state.blobs_total} files stored`;
      }
      row.dataset.complete = String(state.complete);
    }
  }
}

function showProgress({ model, done, total }) {
  const row = modelRow(model);
  if (!row || row.dataset.error === "true") return;
  row.querySelector("progress").value = done / (total || 1);
  row.querySelector(".model-status").textContent = `downloading: ${(done / 2 ** 20).toFixed(1)} / ${(total / 2 ** 20).toFixed(1)} MiB`;
}

async function downloadFromButton(id) {
  const row = modelRow(id);
  delete row.dataset.error;
  // persist() needs a user gesture in some browsers: ask on this click, before the download.
  if (navigator.storage && navigator.storage.persist) await navigator.storage.persist().catch(() => false);
  try {
    await window.staticml.downloadModel(id);
  } catch (err) {
    row.dataset.error = "true";
    row.querySelector(".model-status").textContent = "error: " + err.message;
  }
}
renderModels(null);

window.staticml = {
  ready,
  info: () => (info ? structuredClone(info) : null),
  selftest: () => call("selftest", {}),
  // Model cache (works while Python still boots): state per model, and download into IndexedDB.
  cacheState: () => send("cache_state", {}),
  downloadModel: (model) => send("download_model", { model }),
  // The text of a file the model ships, e.g. modelFile("minilm", "tokenizer.json") (offline once stored).
  modelFile: (model, name) => send("model_file", { model, name }),
  // Uploads the model's tensors into GPU buffers; resolves to {tensors: {name: {buffer, offset, nbytes, dtype, shape}}, ...}.
  loadModel: (model) => call("load_model", { model }),
  // sha256 of each loaded tensor's bytes read back from the GPU (a self-check of the upload path).
  verifyModel: (model) => call("verify_model", { model }),
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
    models: models.map((m) => ({ ...m, manifest: abs(m.manifest) })),
    options: Object.fromEntries(new URLSearchParams(location.search)),
  },
});
