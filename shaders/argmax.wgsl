// Kernel family: argmax. One 256-thread workgroup per row; `struct Uniforms` (rows, C) is prepended
// from py_src/staticml/ops/argmax.py.
@group(0) @binding(0) var<uniform> u: Uniforms;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<i32>;

const WG: u32 = 256u;
var<workgroup> best_v: array<f32, 256>;
var<workgroup> best_i: array<u32, 256>;

// (v, i) beats (w, j) when larger, or equal with a smaller index (first maximum wins)
fn better(v: f32, i: u32, w: f32, j: u32) -> bool {
  return v > w || (v == w && i < j);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= u.rows) { return; }
  let base = row * u.C;
  var bv = -3.4028e38;
  var bi = 0xffffffffu;
  for (var c = lid; c < u.C; c += WG) {
    let v = x[base + c];
    if (bi == 0xffffffffu || better(v, c, bv, bi)) { bv = v; bi = c; }
  }
  best_v[lid] = bv;
  best_i[lid] = bi;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s && best_i[lid + s] != 0xffffffffu &&
        (best_i[lid] == 0xffffffffu || better(best_v[lid + s], best_i[lid + s], best_v[lid], best_i[lid]))) {
      best_v[lid] = best_v[lid + s];
      best_i[lid] = best_i[lid + s];
    }
    workgroupBarrier();
  }
  if (lid == 0u) { out[row] = i32(best_i[0]); }
}
