// The page's own JS drives the DOM and calls the worker's exported Python function.
const script = document.querySelector('script[type="py"][worker]');
const waitFor = () => new Promise((r) => { const t = setInterval(() => { if (script.xworker) { clearInterval(t); r(script.xworker); } }, 50); });
try {
  const xworker = await waitFor();
  await xworker.ready;
  document.getElementById("out").textContent = await xworker.sync.gpu_selftest();
  document.body.dataset.state = "ready";
} catch (err) {
  document.getElementById("out").textContent = String(err);
  document.body.dataset.state = "failed";
}
