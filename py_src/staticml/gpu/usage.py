"""GPUBufferUsage bits (WebGPU spec values), so Python can say what a buffer is for."""
MAP_READ = 0x0001
MAP_WRITE = 0x0002
COPY_SRC = 0x0004
COPY_DST = 0x0008
UNIFORM = 0x0040
STORAGE = 0x0080

STORAGE_RW = STORAGE | COPY_SRC | COPY_DST
UNIFORM_W = UNIFORM | COPY_DST
