#!/bin/bash
# ON THE DEVICE MACHINE, from the checkout root (the device tool's working directory). bench/h100/README.md
# gives the whole sequence; stage.py (here) writes what this script reads.
#   bash .gpu-stage/run/device_run.sh chromium            unpack the carried .chr into /tmp/chr-run (once)
#   bash .gpu-stage/run/device_run.sh copy .gpu-stage/p1  add one staged part to /tmp/h100/stable
#   bash .gpu-stage/run/device_run.sh bench V...          assemble /tmp/h100/site, run variants V in order:
#        f32 f16 f16unpack q8   bench.html for that dtype (f16unpack: ?f16=unpack, shader-f16 withheld)
#        auto                   bench.html?dtype=q8 with no ?backend=: the backend choice on a real adapter (a
#                               calibration at the first load; its loser closed), a short latency run after it
#        torch                  bench/torch_cuda_reference.py on the same GPU
#        ops                    bench-ops.html host_overhead (issue 3)
#        ortgpu ortcpu          bench/ort_web.py's page (stage.py --ort f32): staticml vs ONNX Runtime Web on f32
#                               MiniLM, on WebGPU (both) or on the CPU (staticml's kernels, ORT's wasm EP; one
#                               thread: the kit's server sends no COOP/COEP); ROUNDS (7), REPS, WARMUP, GAP_MS
#                               (single queries after that much idle, after the rounds)
#        skinny                 bench-ops.html: the linear kernel's 64x64 tiles vs main_skinny at M = 1..1024
#                               (f32, q8; 20 linears per replay)
#        splitk                 bench-ops.html: the 64x64 kernel whole and split along K (SPLITS 1,2,3,4,6 slices) on
#                               MiniLM's four linear shapes at M = SPLIT_M (112,248,1024); DTYPES (f32,q8), 20 per replay
#        idle                   bench.html?probe=1&idle=GAPS (0,100,500,1500): IDLE_DTYPE (f32) queries after the page sat
#                               still, page and worker stages per gap (REPS 6, CASES short_1,batch_32 unless set)
#        smoke                  bench-ops.html: adapter + one small matmul (checks the flags and the adapter)
#        cpu                    bench.html?backend=wasm&threads=THREADS (2) for CPU_DTYPE (f32): the CPU kernels on the
#                               machine's CPU; threads need a stage made with --isolated (the service worker isolates
#                               the page after one reload: the kit's server sends no COOP/COEP)
#        torchcpu               torch_cuda_reference.py --device cpu --dtypes fp32 with OMP_NUM_THREADS=THREADS (2): the
#                               PyTorch side of `cpu` on the same CPU (random weights, Rust tokenizer; no throughput rows)
# JSON results go to $OUT/<variant>.json, Chromium logs into one $OUT/logs-<first variant>.tar.gz.
# Knobs (environment): REPS (50), WARMUP (5), PROFILE (5), TPREPS (5), SIZES (32,128,512), CASES (all),
# PAGE_TIMEOUT (280); STAGE_TMP (/tmp/h100) and LOCAL_CHROME (a local Chromium: a SwiftShader dry run).
set -uo pipefail
S=${STAGE_TMP:-/tmp/h100}
RUN=$(cd "$(dirname "$0")" && pwd)
OUTD=${OUT:-$S/out}
mkdir -p "$S/stable" "$S/out" "$OUTD"
# the f16 type on NVIDIA/Vulkan is blocklisted unless this Dawn toggle is on (shared/device/README.md)
EXTRA="--enable-dawn-features=vulkan_enable_f16_on_nvidia"
COMMON="backend=webgpu&reps=${REPS:-50}&warmup=${WARMUP:-5}&probe=1&profile=${PROFILE:-5}&throughput=${SIZES-32,128,512}&tpreps=${TPREPS:-5}${CASES+&cases=$CASES}"

case "${1:-}" in
chromium)
  C=/tmp/chr-run; mkdir -p $C
  tar -C $C -xJf .chr/chr-rest.tar.xz && xz -dc .chr/chromium-headless-shell.xz > $C/chr/chromium-headless-shell \
    && chmod +x $C/chr/chromium-headless-shell || exit 1
  ls -la $C/chr | head -5
  nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv
  exit 0 ;;
copy)
  cp -r "$2"/. "$S/stable/" || exit 1
  du -sh "$S/stable"; exit 0 ;;
bench) shift ;;
*) echo "usage: device_run.sh chromium | copy DIR | bench VARIANT..."; exit 2 ;;
esac

# assemble the site: the small part from run/, the Pyodide core and the shards hard-linked from stable/
rm -rf "$S/site" && cp -r "$RUN/site" "$S/site" || exit 1
[ -d "$S/stable/pyodide" ] && cp -al "$S/stable/pyodide" "$S/site/pyodide"
missing=0
while read -r rel; do
  [ -z "$rel" ] && continue
  b="$S/stable/blobs/$(basename "$rel")"   # a file staged as chunks (bigger than a part): join them once
  if [ ! -e "$b" ] && [ -e "$b.chunk00" ]; then cat "$b".chunk* > "$b.tmp" && mv "$b.tmp" "$b"; fi
  mkdir -p "$(dirname "$S/site/$rel")"
  ln -f "$S/stable/blobs/$(basename "$rel")" "$S/site/$rel" 2>/dev/null || missing=$((missing + 1))
done < "$RUN/links.txt"
[ $missing -gt 0 ] && echo "WARNING: $missing model shards are not staged yet (copy every part first)"

{
  date -u; nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,temperature.gpu,power.draw,power.limit --format=csv
  /tmp/chr-run/chr/chromium-headless-shell --version 2>/dev/null
  python3 -c "import torch, transformers; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'transformers', transformers.__version__)"
  nproc; free -g | head -2
} > "$OUTD/env-$1.txt" 2>&1

for v in "$@"; do
  echo "=== $v $(date -u +%T)"
  case $v in
  f32|f16|q8) page="bench.html?dtype=$v&$COMMON" ;;
  f16unpack) page="bench.html?dtype=f16&f16=unpack&$COMMON" ;;
  auto) page="bench.html?dtype=q8&reps=${REPS:-50}&warmup=${WARMUP:-5}${CASES+&cases=$CASES}" ;;
  ops) page="bench-ops.html?sections=host_overhead" ;;
  ortgpu|ortcpu)
    [ $v = ortgpu ] && app="backend=webgpu&ep=webgpu" || app="backend=wasm&ep=wasm"
    page="ort-compare.html?dtype=f32&$app&threads=1&model=minilm-f32.onnx&rounds=${ROUNDS:-7}&reps=${REPS:-10}&warmup=${WARMUP:-8}${CASES+&cases=$CASES}${GAP_MS+&gap_ms=$GAP_MS}" ;;
  skinny) page="bench-ops.html?sections=matmul_throughput&matmul_throughput=%7B%22shapes%22%3A%5B%5B1%2C384%2C384%5D%2C%5B1%2C384%2C1536%5D%2C%5B1%2C1536%2C384%5D%2C%5B16%2C384%2C384%5D%2C%5B16%2C384%2C1536%5D%2C%5B16%2C1536%2C384%5D%2C%5B32%2C384%2C384%5D%2C%5B32%2C384%2C1536%5D%2C%5B32%2C1536%2C384%5D%2C%5B64%2C384%2C384%5D%2C%5B64%2C384%2C1536%5D%2C%5B64%2C1536%2C384%5D%2C%5B128%2C384%2C384%5D%2C%5B128%2C384%2C1536%5D%2C%5B128%2C1536%2C384%5D%2C%5B256%2C384%2C384%5D%2C%5B256%2C384%2C1536%5D%2C%5B256%2C1536%2C384%5D%2C%5B1024%2C384%2C384%5D%2C%5B1024%2C384%2C1536%5D%2C%5B1024%2C1536%2C384%5D%5D%2C%22dtypes%22%3A%5B%22f32%22%2C%22q8%22%5D%2C%22tiles%22%3A%5B%22tiled%22%2C%22skinny%22%5D%2C%22repeat%22%3A20%7D" ;;
  splitk) page="bench-ops.html?sections=matmul_throughput&matmul_throughput=$(python3 -c '
import json, sys, urllib.parse
ms, splits, dtypes = (a.split(",") for a in sys.argv[1:])
shapes = [[int(m), k, n] for m in ms for k, n in ((384, 384), (384, 1152), (384, 1536), (1536, 384))]
print(urllib.parse.quote(json.dumps({"shapes": shapes, "dtypes": dtypes, "tiles": ["tiled"],
                                     "splits": [int(s) for s in splits], "repeat": 20})))' \
      "${SPLIT_M:-112,248,1024}" "${SPLITS:-1,2,3,4,6}" "${DTYPES:-f32,q8}")" ;;
  idle) page="bench.html?dtype=${IDLE_DTYPE:-f32}&backend=webgpu&probe=1&reps=${REPS:-6}&warmup=${WARMUP:-5}&idle=${GAPS:-0,100,500,1500}&cases=${CASES:-short_1,batch_32}" ;;
  cpu) page="bench.html?dtype=${CPU_DTYPE:-f32}&backend=wasm&threads=${THREADS:-2}&reps=${REPS:-50}&warmup=${WARMUP:-8}&probe=1${CASES+&cases=$CASES}" ;;
  torchcpu)
    OMP_NUM_THREADS=${THREADS:-2} python3 "$RUN/torch_cuda_reference.py" --device cpu --dtypes fp32 --sizes "" --linear-m "" \
      --reps "${REPS:-50}" --model-dir "$RUN/model" --inputs "$S/site/bench-inputs.json" --out "$S/out/torchcpu.json" \
      > "$S/out/torchcpu.log" 2>&1 || tail -20 "$S/out/torchcpu.log"
    cp "$S/out/torchcpu.json" "$OUTD/" 2>/dev/null
    continue ;;
  smoke) page="bench-ops.html?sections=matmul_throughput&matmul_throughput=%7B%22shapes%22%3A%5B%5B4096%2C384%2C1536%5D%5D%2C%22dtypes%22%3A%5B%22f32%22%2C%22f16%22%5D%7D" ;;
  torch)
    python3 "$RUN/torch_cuda_reference.py" --model-dir "$RUN/model" --inputs "$S/site/bench-inputs.json" \
      --out "$S/out/torch.json" > "$S/out/torch.log" 2>&1 || tail -20 "$S/out/torch.log"
    cp "$S/out/torch.json" "$OUTD/" 2>/dev/null
    continue ;;
  *) echo "unknown variant $v"; continue ;;
  esac
  if [ -n "${LOCAL_CHROME:-}" ]; then  # a dry run on a machine without the GPU (SwiftShader), never touching /
    timeout $(( ${PAGE_TIMEOUT:-280} + 30 )) python3 .device/page_runner.py "$LOCAL_CHROME" "$S/site" "$page" "${PAGE_TIMEOUT:-280}" \
      "$S/out/$v.json" --headless=new --enable-unsafe-webgpu --enable-webgpu-developer-features --disable-component-update \
      --disable-sync --disable-quic > "$S/out/$v.runner.log" 2>&1
  else
    timeout $(( ${PAGE_TIMEOUT:-280} + 30 )) bash .device/run_page.sh .chr .gl "$S/site" "$page" "${PAGE_TIMEOUT:-280}" "$S/out/$v.json" $EXTRA \
      > "$S/out/$v.runner.log" 2>&1
  fi
  grep -v '^PAGE:' "$S/out/$v.runner.log" | tail -c 600
  grep '^PAGE:' "$S/out/$v.runner.log" | cut -c1-200 | tail -n 12
  cp "$S/out/$v.json" "$OUTD/" 2>/dev/null
done
(cd "$S/out" && tar -czf "$OUTD/logs-$1.tar.gz" *.log 2>/dev/null)
ls -la "$OUTD"
