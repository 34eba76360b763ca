// Kernel family: embedding. One thread per output value; `struct Uniforms` is prepended from
// py_src/staticml/ops/embedding.py. Absent tables are bound to a placeholder and skipped by flag.
@group(0) @binding(0) var<uniform> u: Uniforms;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read> table: array<f32>;
@group(0) @binding(3) var<storage, read> pos_table: array<f32>;
@group(0) @binding(4) var<storage, read> type_ids: array<i32>;
@group(0) @binding(5) var<storage, read> type_table: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i >= u.n) { return; }
  let c = i % u.C;
  let bt = i / u.C;           // flat (b, t)
  let t = bt % u.T;
  let id = ids[bt];
  if (id < 0 || u32(id) >= u.V) { out[i] = bitcast<f32>(0x7fc00000u | (u.n & 0u)); return; }  // NaN marks a bad id (runtime value: WGSL rejects a NaN constant)
  var v = table[u32(id) * u.C + c];
  if (u.has_pos != 0u) { v += pos_table[(u.pos_offset + t) * u.C + c]; }
  if (u.has_type != 0u) {
    let tid = clamp(type_ids[bt], 0, i32(u.n_types) - 1);
    v += type_table[u32(tid) * u.C + c];
  }
  out[i] = v;
}
