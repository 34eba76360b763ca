// Kernel family: matmul. out[M, N] = a[M, K] @ b[K, N], all f32, row-major.
// `struct Uniforms` is prepended from py_src/staticml/ops/matmul.py.
@group(0) @binding(0) var<uniform> u: Uniforms;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const T: u32 = 16u;
var<workgroup> a_tile: array<array<f32, 16>, 16>;
var<workgroup> b_tile: array<array<f32, 16>, 16>;

// One 16x16 output tile per workgroup; K is walked in 16-wide tiles through workgroup memory.
@compute @workgroup_size(16, 16)
fn matmul_tiled(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = gid.y;
  let col = gid.x;
  var acc = 0.0;
  let tiles = (u.K + T - 1u) / T;
  for (var t = 0u; t < tiles; t++) {
    let ka = t * T + lid.x;
    let kb = t * T + lid.y;
    a_tile[lid.y][lid.x] = select(0.0, a[row * u.K + ka], row < u.M && ka < u.K);
    b_tile[lid.y][lid.x] = select(0.0, b[kb * u.N + col], kb < u.K && col < u.N);
    workgroupBarrier();
    for (var k = 0u; k < T; k++) {
      acc += a_tile[lid.y][k] * b_tile[k][lid.x];
    }
    workgroupBarrier();
  }
  if (row < u.M && col < u.N) {
    out[row * u.N + col] = acc;
  }
}

// The baseline: one thread per output value, K walked straight through global memory.
@compute @workgroup_size(16, 16)
fn matmul_naive(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.y;
  let col = gid.x;
  if (row >= u.M || col >= u.N) { return; }
  var acc = 0.0;
  for (var k = 0u; k < u.K; k++) { acc += a[row * u.K + k] * b[k * u.N + col]; }
  out[row * u.N + col] = acc;
}
