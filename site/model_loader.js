// Model weights, from the network or IndexedDB straight into GPU buffers (or the CPU kernels' wasm
// memory). Runs in the worker; registered in Pyodide as the module `staticml_models`. Python reads the
// manifest and decides which shard byte ranges go where; this module moves the bytes: fetch ->
// ArrayBuffer -> sha256 check -> IndexedDB -> queue.writeBuffer (or a copy into the kernels' memory).
// Weight bytes never enter the Python heap.
// Only strings and numbers cross to Python (JSON in, JSON out).
import * as cpu from "./cpu_glue.js";
import * as glue from "./gpu_glue.js";
import * as store from "./shard_store.js";

let models = new Map();          // id -> {id, manifest (absolute URL), dtype, total_bytes}
let report = () => {};           // (event) => void, set by the worker: progress and cache-state events
const manifests = new Map();     // id -> parsed manifest, fetched once per worker
const SAFETY = 1.1;              // IndexedDB keeps some bookkeeping per blob: ask for 10% more than the bytes

export function configure(list, onEvent) {
  models = new Map(list.map((m) => [m.id, m]));
  report = onEvent;
}

function modelOf(id) {
  const m = models.get(id);
  if (!m) throw new Error(`no model ${JSON.stringify(id)} on this site (it has: ${[...models.keys()].join(", ") || "none"})`);
  return m;
}

// The manifest text. Its URL is content-hashed and precached by the service worker; if this worker
// is not (yet) controlled by it, the shell cache is read directly so an offline reload still works.
export async function manifestText(id) {
  const m = modelOf(id);
  let text;
  try {
    const res = await fetch(m.manifest);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    text = await res.text();
  } catch (err) {
    const hit = self.caches ? await caches.match(m.manifest) : undefined;
    if (!hit) throw new Error(`could not fetch the manifest of model ${id} (${m.manifest}): ${err.message}. Are you offline on a first visit?`);
    text = await hit.text();
  }
  manifests.set(id, JSON.parse(text));
  return text;
}

async function manifestOf(id) {
  if (!manifests.has(id)) await manifestText(id);
  return manifests.get(id);
}

// Everything a model needs in IndexedDB: its shards and shipped files.
function blobsOf(id, manifest) {
  const base = new URL(modelOf(id).manifest, self.location.href);
  const list = manifest.shards.map((s, index) => ({ ...s, index, url: new URL(s.file, base).href, kind: "shard" }));
  for (const f of Object.values(manifest.files)) list.push({ ...f, url: new URL(f.file, base).href, kind: "file" });
  return list;
}

// Per model: which blobs are present (keys only) and whether it is complete (usable offline).
export async function cacheState() {
  const present = await store.presentKeys();
  const out = { models: {}, blobs_stored: present.size };
  for (const id of models.keys()) {
    let manifest;
    try { manifest = await manifestOf(id); } catch (err) { out.models[id] = { error: err.message }; continue; }
    const blobs = blobsOf(id, manifest);
    const have = blobs.filter((b) => present.has(b.sha256));
    out.models[id] = {
      complete: have.length === blobs.length, blobs_present: have.length, blobs_total: blobs.length,
      bytes_present: have.reduce((n, b) => n + b.nbytes, 0), bytes_total: blobs.reduce((n, b) => n + b.nbytes, 0),
    };
  }
  if (self.navigator && navigator.storage) {
    const { usage, quota } = await navigator.storage.estimate();
    out.storage = { usage, quota, persisted: navigator.storage.persisted ? await navigator.storage.persisted() : null };
  }
  return JSON.stringify(out);
}

// Shards no current model references (older versions) take space and are never read again.
async function evictUnreferenced() {
  const keep = new Set();
  for (const id of models.keys()) {
    try { for (const b of blobsOf(id, await manifestOf(id))) keep.add(b.sha256); } catch { return 0; }  // unsure: keep all
  }
  return store.evictExcept(keep);
}

async function download(id, blob) {
  let res;
  try {
    res = await fetch(blob.url, { cache: "no-store" });
  } catch (err) {
    throw new Error(`${blob.kind} ${blob.file} of model ${id}: download failed (${err.message}); check the connection and retry, ` +
      "what was already stored is kept");
  }
  if (!res.ok) throw new Error(`${blob.kind} ${blob.file} of model ${id}: the server answered HTTP ${res.status}; not stored`);
  const type = res.headers.get("Content-Type") || "";
  const buffer = await res.arrayBuffer().catch((err) => {
    throw new Error(`${blob.kind} ${blob.file} of model ${id}: the download broke off (${err.message}); retry to resume`);
  });
  try {
    await store.putVerified(blob.sha256, buffer, `${blob.kind} ${blob.file} of model ${id}`);
  } catch (err) {
    if (err.quotaExceeded) throw err;
    // Static hosts answer a missing file with their index.html (SPA fallback) and status 200.
    const html = type.startsWith("text/html") ? " The server sent an HTML page instead (a missing file answered " +
      "with the site's index.html?); redeploy the model's files." : "";
    throw new Error(err.message + html);
  }
  return buffer;
}

// Makes every blob of the model present in IndexedDB, fetching only the missing ones (so an
// interrupted download resumes where it stopped). Checks the storage quota first.
export async function ensureCached(id) {
  const manifest = await manifestOf(id);
  await evictUnreferenced();   // frees the space an older version used before asking for more
  const present = await store.presentKeys();
  const missing = blobsOf(id, manifest).filter((b) => !present.has(b.sha256));
  const total = blobsOf(id, manifest).reduce((n, b) => n + b.nbytes, 0);
  const need = missing.reduce((n, b) => n + b.nbytes, 0);
  let done = total - need;
  report({ kind: "progress", model: id, done, total });
  if (missing.length && navigator.storage && navigator.storage.estimate) {
    const { usage, quota } = await navigator.storage.estimate();
    if (need * SAFETY > quota - usage) {
      const mib = (n) => `${(n / 2 ** 20).toFixed(1)} MiB`;
      throw new Error(`not enough storage for model ${id}: it needs ${mib(need * SAFETY)} more, but the browser ` +
        `allows this site only ${mib(Math.max(0, quota - usage))} (quota ${mib(quota)}, used ${mib(usage)}). ` +
        "Free disk space or clear other sites' data, then try again. Nothing was downloaded.");
    }
  }
  const errors = [];
  const fetched = [];
  for (const blob of missing) {   // one at a time: bounded memory, and an interruption loses at most one
    try {
      await download(id, blob);
      fetched.push(blob.file);
      done += blob.nbytes;
      report({ kind: "progress", model: id, done, total });
    } catch (err) {
      if (err.quotaExceeded) {   // every later write would fail the same way: stop here
        report({ kind: "cache", state: JSON.parse(await cacheState()) });
        throw new Error(`not enough storage for model ${id}: ${err.message} (${fetched.length} of ${missing.length} ` +
          "missing files were stored; the model is not complete)");
      }
      errors.push(err.message);
    }
  }
  report({ kind: "cache", state: JSON.parse(await cacheState()) });
  if (errors.length) {
    throw new Error(`model ${id} is incomplete (${errors.length} of ${missing.length} downloads failed): ${errors.join(" | ")}`);
  }
  return JSON.stringify({ model: id, fetched, from_cache: blobsOf(id, manifest).length - missing.length, bytes_fetched: need });
}

// The text of a file the model ships (e.g. "tokenizer.json"), from IndexedDB when stored, otherwise
// downloaded, verified and stored first; works offline once the model is complete.
export async function fileText(id, name) {
  const manifest = await manifestOf(id);
  const entry = manifest.files[name];
  if (!entry) throw new Error(`model ${id} ships no ${name} (it has: ${Object.keys(manifest.files).join(", ")})`);
  const blob = blobsOf(id, manifest).find((b) => b.kind === "file" && b.sha256 === entry.sha256);
  const buffer = (await store.getBlob(blob.sha256)) || await download(id, blob);
  return new TextDecoder().decode(buffer);
}

// copiesJson: [[shard index, byte offset in shard, destination, byte offset in it, nbytes], ...] (decided
// by Python from the manifest). target "gpu": the destination is a GPU buffer id (queue.writeBuffer);
// "wasm": a pointer into the CPU kernels' memory. Each shard is read once.
export async function uploadShards(id, copiesJson, target = "gpu") {
  const write = { gpu: (dst, at, bytes) => glue.writeBuffer(dst, at, bytes), wasm: (dst, at, bytes) => cpu.write(dst + at, bytes) }[target];
  if (!write) throw new Error(`uploadShards: unknown target ${JSON.stringify(target)} (gpu or wasm)`);
  const manifest = await manifestOf(id);
  const copies = JSON.parse(copiesJson);
  const byShard = new Map();
  for (const c of copies) {
    if (!byShard.has(c[0])) byShard.set(c[0], []);
    byShard.get(c[0]).push(c);
  }
  const summary = JSON.parse(await ensureCached(id));
  let bytes = 0;
  for (const [index, list] of [...byShard].sort((a, b) => a[0] - b[0])) {
    const shard = manifest.shards[index];
    if (!shard) throw new Error(`model ${id}: the upload plan names shard ${index}, the manifest has ${manifest.shards.length}`);
    const buffer = await store.getBlob(shard.sha256);
    if (!buffer || buffer.byteLength !== shard.nbytes) {
      throw new Error(`shard ${shard.file} of model ${id} vanished from IndexedDB while loading (storage cleared?); reload`);
    }
    if (await store.sha256Hex(buffer) !== shard.sha256) {   // cheap next to the upload; storage can rot too
      await store.evictExcept(new Set([...await store.presentKeys()].filter((k) => k !== shard.sha256)));
      throw new Error(`shard ${shard.file} of model ${id} was damaged in IndexedDB and has been removed; reload to fetch it again`);
    }
    for (const [, src, dest, at, n] of list) {
      if (src + n > buffer.byteLength) throw new Error(`model ${id}: copy [${src}, ${src + n}) is outside shard ${shard.file}`);
      write(dest, at, new Uint8Array(buffer, src, n));
      bytes += n;
    }
  }
  return JSON.stringify({ ...summary, bytes_uploaded: bytes, shards_read: byShard.size });
}
