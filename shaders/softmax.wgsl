// Kernel family: softmax. One 256-thread workgroup per row; `struct Uniforms` (rows, C,
// rows_per_mask, scale) is prepended from py_src/staticml/ops/softmax.py.
@group(0) @binding(0) var<uniform> u: Uniforms;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<f32>;  // additive; a placeholder when rows_per_mask == 0
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const WG: u32 = 256u;
var<workgroup> partial: array<f32, 256>;

fn logit(base: u32, mbase: u32, c: u32) -> f32 {
  var v = x[base + c] * u.scale;
  if (u.rows_per_mask != 0u) { v += mask[mbase + c]; }
  return v;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= u.rows) { return; }  // uniform per workgroup
  let base = row * u.C;
  let mbase = select(0u, (row / max(u.rows_per_mask, 1u)) * u.C, u.rows_per_mask != 0u);
  var m = -3.4028e38;
  for (var c = lid; c < u.C; c += WG) { m = max(m, logit(base, mbase, c)); }
  partial[lid] = m;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] = max(partial[lid], partial[lid + s]); }
    workgroupBarrier();
  }
  let row_max = partial[0];
  workgroupBarrier();
  var sum = 0.0;
  for (var c = lid; c < u.C; c += WG) { sum += exp(logit(base, mbase, c) - row_max); }
  partial[lid] = sum;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] += partial[lid + s]; }
    workgroupBarrier();
  }
  let inv = 1.0 / partial[0];
  for (var c = lid; c < u.C; c += WG) { out[base + c] = exp(logit(base, mbase, c) - row_max) * inv; }
}
