# tests: the QEMU bridge (ingest, emit, convert, shared-memory offload)
