// The in-page benchmark: the scenarios of `python build.py bench`, run against window.staticml.
// Query parameters: reps (default 10), warmup (default 2), cases (which latency cases, comma-separated;
// default all, empty = only the first embedding), throughput (batch sizes, e.g. "32,128,512"), report (a path to
// POST the JSON result to; the GPU kit's contract), plus whatever the app takes (dtype, backend).
// The result is also left in window.staticmlBench (a Promise) for drivers such as Selenium.
const params = new URLSearchParams(location.search);
const reps = Number(params.get("reps") || 10);
const warmup = Number(params.get("warmup") || 2);
const report = params.get("report");

function log(line) {
  console.log("[bench]", line);
  if (report) fetch("/__log", { method: "POST", body: line }).catch(() => {});
}

function stats(times) {
  const s = [...times].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { median_ms: +at(0.5).toFixed(2), p90_ms: +at(0.9).toFixed(2), min_ms: +s[0].toFixed(2), n: s.length };
}

async function timeIt(texts, n, warm = warmup) {
  for (let i = 0; i < warm; i++) await window.staticml.embed(texts);
  const times = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await window.staticml.embed(texts);
    times.push(performance.now() - t);
  }
  return stats(times);
}

async function run() {
  const inputs = await (await fetch("./bench-inputs.json")).json();
  const info = await window.staticml.ready;
  await window.staticml.embed([inputs.short]);
  const result = { first_embedding_ms: +performance.now().toFixed(1), info: window.staticml.info(), latency: {}, throughput: {} };
  log(`first embedding after ${result.first_embedding_ms} ms on ${info.backend}`);
  const cases = { short_1: [inputs.short], batch_8: inputs.batch_8, batch_32: inputs.batch_32, passage_250: [inputs.passage_250] };
  const wanted = params.has("cases") ? params.get("cases").split(",").filter(Boolean) : Object.keys(cases);
  for (const [name, texts] of Object.entries(cases).filter(([n]) => wanted.includes(n))) {
    result.latency[name] = await timeIt(texts, reps);
    log(`${name}: median ${result.latency[name].median_ms} ms`);
  }
  for (const size of (params.get("throughput") || "").split(",").filter(Boolean).map(Number)) {
    const texts = Array(size).fill(inputs.throughput_128);
    const s = await timeIt(texts, Math.max(3, Math.floor(reps / 3)), Math.min(warmup, 1));
    result.throughput[`batch_${size}`] = { ...s, sentences_per_s: +(size / (s.median_ms / 1000)).toFixed(1) };
    log(`throughput batch ${size}: ${result.throughput[`batch_${size}`].sentences_per_s} sentences/s`);
  }
  result.info_after = window.staticml.info();  // timings the runtime gathered while the bench ran
  if (report) await fetch(report, { method: "POST", body: JSON.stringify(result) });
  return result;
}

window.staticmlBench = run().catch(async (err) => {
  const failure = { error: String(err && err.message || err) };
  if (report) await fetch(report, { method: "POST", body: JSON.stringify(failure) });
  return failure;
});
