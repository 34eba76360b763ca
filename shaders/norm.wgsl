// Kernel family: norm. One 256-thread workgroup per row of C values. `struct Uniforms` (rows, C, eps)
// is prepended from py_src/staticml/ops/norm.py. Each entry point binds only what it uses.
@group(0) @binding(0) var<uniform> u: Uniforms;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(3) var<storage, read_write> out3: array<f32>;  // rms_norm: x, gamma, out
@group(0) @binding(4) var<storage, read_write> out4: array<f32>;  // layer_norm: x, gamma, beta, out
@group(0) @binding(2) var<storage, read_write> out2: array<f32>;  // l2_normalize: x, out

const WG: u32 = 256u;
const WG_ROOT: u32 = 16u;  // WG = WG_ROOT * WG_ROOT: workgroup_sum's two levels
var<workgroup> partial: array<f32, WG>;
var<workgroup> partial_root: array<f32, WG_ROOT>;

fn row_of(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + wid.y * nwg.x;
}

// Sum of `v` over the workgroup (every thread gets it), in two levels: 16 threads add 16 partials each, then
// every thread adds those 16. Three barriers instead of a tree's ten: a row of MiniLM is 384 values, so the
// barriers, not the adds, are what a norm dispatch waits on (twice per LayerNorm).
fn workgroup_sum(v: f32, lid: u32) -> f32 {
  partial[lid] = v;
  workgroupBarrier();
  if (lid < WG_ROOT) {
    var s = 0.0;
    for (var i = 0u; i < WG_ROOT; i++) { s += partial[i * WG_ROOT + lid]; }  // consecutive threads, consecutive banks
    partial_root[lid] = s;
  }
  workgroupBarrier();
  var total = 0.0;
  for (var i = 0u; i < WG_ROOT; i++) { total += partial_root[i]; }
  workgroupBarrier();  // before the next call writes partial again
  return total;
}

fn row_sum(base: u32, lid: u32) -> f32 {
  var s = 0.0;
  for (var c = lid; c < u.C; c += WG) { s += x[base + c]; }
  return workgroup_sum(s, lid);
}

fn row_sq_dev(base: u32, center: f32, lid: u32) -> f32 {
  var s = 0.0;
  for (var c = lid; c < u.C; c += WG) { let d = x[base + c] - center; s += d * d; }
  return workgroup_sum(s, lid);
}

@compute @workgroup_size(256)
fn layer_norm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg);
  if (row >= u.rows) { return; }  // uniform per workgroup, so barriers stay uniform
  let base = row * u.C;
  let mean = row_sum(base, lid) / f32(u.C);
  let inv = inverseSqrt(row_sq_dev(base, mean, lid) / f32(u.C) + u.eps);
  for (var c = lid; c < u.C; c += WG) { out4[base + c] = (x[base + c] - mean) * inv * gamma[c] + beta[c]; }
}

@compute @workgroup_size(256)
fn rms_norm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg);
  if (row >= u.rows) { return; }
  let base = row * u.C;
  let inv = inverseSqrt(row_sq_dev(base, 0.0, lid) / f32(u.C) + u.eps);
  for (var c = lid; c < u.C; c += WG) { out3[base + c] = x[base + c] * inv * gamma[c]; }
}

@compute @workgroup_size(256)
fn l2_normalize(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg);
  if (row >= u.rows) { return; }
  let base = row * u.C;
  let inv = 1.0 / max(sqrt(row_sq_dev(base, 0.0, lid)), u.eps);
  for (var c = lid; c < u.C; c += WG) { out2[base + c] = x[base + c] * inv; }
}
