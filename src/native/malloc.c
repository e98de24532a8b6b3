/*
 * One allocator setting for feedchain processes (src/allocator.ts says when and why).
 *
 * glibc serves allocations above M_MMAP_THRESHOLD with their own mmap and returns them to the
 * kernel on free. Its threshold is dynamic: each freed mmapped chunk raises it to that chunk's
 * size, so after the first 1 MiB file block is freed, every later one comes from the malloc
 * arenas instead. RocksDB's memtables, its flush buffers and the replication buffers are
 * allocated on several threads (one arena each), and freed memory inside an arena's heap stays
 * resident. Fixing the threshold turns that off: large buffers stay mmapped and go back to the
 * kernel when freed, which is what keeps a transfer's RSS flat (bench/README.md, transfer).
 *
 * Elsewhere than glibc (macOS, musl) the call does nothing and reports false.
 */
#include <node_api.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

static napi_value set_mmap_threshold (napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int64_t bytes = 0;
  int done = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 1) {
    napi_get_value_int64(env, argv[0], &bytes);
  }
#if defined(__GLIBC__)
  if (bytes > 0 && bytes <= (int64_t) 32 * 1024 * 1024) done = mallopt(M_MMAP_THRESHOLD, (int) bytes) == 1;
#endif
  napi_value result;
  napi_get_boolean(env, done, &result);
  return result;
}

NAPI_MODULE_INIT () {
  napi_value fn;
  napi_create_function(env, "setMmapThreshold", NAPI_AUTO_LENGTH, set_mmap_threshold, NULL, &fn);
  napi_set_named_property(env, exports, "setMmapThreshold", fn);
  return exports;
}
