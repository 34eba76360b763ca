// The IndexedDB store of verified model blobs (weight shards and the small files a model ships),
// keyed by the sha256 of their bytes. Imported by the worker's model loader (the only writer) and by
// the service worker (reads, to answer requests offline, and evicts on activate).
//
// Rules that keep it from rotting:
//   - a blob is written only after crypto.subtle.digest of its bytes equals the sha256 it is stored
//     under, in one transaction, so a key is either absent or holds exactly the right bytes;
//   - presence is checked with getAllKeys() (keys only, payloads are never read for that);
//   - whether a model is complete is derived from the keys each time, never stored as a flag that
//     could disagree with them.

const DB_NAME = "staticml-models";
const DB_VERSION = 1;
const BLOBS = "blobs";

let opening = null;

export function openStore() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = () => req.result.createObjectStore(BLOBS);
      req.onsuccess = () => {
        const db = req.result;
        db.onversionchange = () => { db.close(); opening = null; };
        resolve(db);
      };
      req.onerror = () => { opening = null; reject(storageError("opening IndexedDB", req.error)); };
      req.onblocked = () => { opening = null; reject(new Error("IndexedDB is blocked by another tab of this site; close it and reload")); };
    });
  }
  return opening;
}

function run(mode, body) {
  return openStore().then((db) => new Promise((resolve, reject) => {
    const tx = db.transaction(BLOBS, mode);
    let result;
    const req = body(tx.objectStore(BLOBS));
    if (req) req.onsuccess = () => { result = req.result; };
    tx.oncomplete = () => resolve(result);
    tx.onabort = tx.onerror = () => reject(storageError(`IndexedDB ${mode}`, tx.error));
  }));
}

// What a failed IndexedDB call means for the person using the page.
export function storageError(what, err) {
  if (err && err.name === "QuotaExceededError") {
    const e = new Error(`the browser refused to store more data for this site (quota exceeded while ${what}). ` +
      "Free space on this device or clear other sites' data, then try again: what is stored is kept and the " +
      "download resumes.");
    e.quotaExceeded = true;
    return e;
  }
  return new Error(`${what} failed: ${err ? `${err.name}: ${err.message}` : "unknown error"}`);
}

export async function sha256Hex(buffer) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", buffer));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

// The set of sha256 keys present; reads no payloads.
export async function presentKeys() {
  return new Set(await run("readonly", (s) => s.getAllKeys()));
}

// The stored bytes (an ArrayBuffer), or undefined.
export function getBlob(sha256) {
  return run("readonly", (s) => s.get(sha256));
}

// Stores `buffer` under `sha256` only if its digest matches; throws (storing nothing) otherwise.
export async function putVerified(sha256, buffer, label) {
  const actual = await sha256Hex(buffer);
  if (actual !== sha256) {
    throw new Error(`${label}: the bytes received do not match the manifest (sha256 ${actual.slice(0, 12)}… ` +
      `instead of ${sha256.slice(0, 12)}…, ${buffer.byteLength} bytes); not stored`);
  }
  await run("readwrite", (s) => s.put(buffer, sha256));
}

// Deletes every blob whose key is not in `keep` (a Set of sha256); returns how many went.
export async function evictExcept(keep) {
  const stale = [...await presentKeys()].filter((k) => !keep.has(k));
  if (stale.length) await run("readwrite", (s) => { for (const k of stale) s.delete(k); });
  return stale.length;
}
