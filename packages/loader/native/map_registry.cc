// SPDX-License-Identifier: Apache-2.0
// Finds maps the kernel already holds by name (e.g. another process's stoq_stats),
// the way `bpftool map show name X` does: walk map ids, open each, compare names.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <napi.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "error.h"
#include "export.h"

namespace stoq {

// openMapsByName(name) → [{ id, fd, type, keySize, valueSize, maxEntries }] (caller owns the fds)
Napi::Value OpenMapsByName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) ThrowInvalid(env, "openMapsByName", "name must be a string");
  std::string wanted = info[0].As<Napi::String>();
  Napi::Array found = Napi::Array::New(env);
  uint32_t id = 0, n = 0;
  while (bpf_map_get_next_id(id, &id) == 0) {
    int fd = bpf_map_get_fd_by_id(id);
    if (fd < 0) {
      if (errno == ENOENT) continue;  // freed between the two calls
      throw ErrnoError(env, "openMapsByName", errno);
    }
    struct bpf_map_info map = {};
    __u32 len = sizeof(map);
    if (bpf_obj_get_info_by_fd(fd, &map, &len) < 0 || wanted != map.name) {
      close(fd);
      continue;
    }
    Napi::Object entry = Napi::Object::New(env);
    const char* type = libbpf_bpf_map_type_str(static_cast<enum bpf_map_type>(map.type));
    entry.Set("id", map.id);
    entry.Set("fd", fd);
    entry.Set("name", map.name);
    entry.Set("type", type ? type : "unknown");
    entry.Set("keySize", map.key_size);
    entry.Set("valueSize", map.value_size);
    entry.Set("maxEntries", map.max_entries);
    found.Set(n++, entry);
  }
  if (errno != ENOENT && errno != 0 && n == 0 && id == 0) throw ErrnoError(env, "openMapsByName", errno);
  return found;
}

void RegisterMapRegistry(Napi::Env env, Napi::Object exports) {
  Export<OpenMapsByName>(env, exports, "openMapsByName");
}

}  // namespace stoq
