// Kernel family: pooling. One thread per (b, c); `struct Uniforms` (B, T, C) is prepended from
// py_src/staticml/ops/pooling.py.
@group(0) @binding(0) var<uniform> u: Uniforms;
@group(0) @binding(1) var<storage, read> x: array<f32>;     // [B, T, C]
@group(0) @binding(2) var<storage, read> mask: array<f32>;  // [B, T]
@group(0) @binding(3) var<storage, read_write> out: array<f32>;  // [B, C]

@compute @workgroup_size(256)
fn mean_pool(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
  let idx = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (idx >= u.B * u.C) { return; }
  let b = idx / u.C;
  let c = idx % u.C;
  var sum = 0.0;
  var count = 0.0;
  for (var t = 0u; t < u.T; t++) {
    let m = mask[b * u.T + t];
    sum += x[(b * u.T + t) * u.C + c] * m;
    count += m;
  }
  out[idx] = sum / max(count, 1e-9);
}
