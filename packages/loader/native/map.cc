// SPDX-License-Identifier: Apache-2.0
// Map operations on fds. Sizes are checked in TS; here a wrong size can only be
// shorter than the kernel expects, so every buffer is re-checked before the syscall.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <napi.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <vector>

#include "args.h"
#include "error.h"
#include "export.h"

namespace stoq {
namespace {

// Generous upper bounds that only stop a wrapped or absurd size from JS: the kernel
// caps keys far lower, and a per-CPU value is value_size rounded up times the CPUs.
constexpr uint32_t kMaxKeyBytes = 1u << 16;
constexpr uint32_t kMaxValueBytes = 1u << 30;
// lookupBatch grows its batch up to this when one hash bucket does not fit.
constexpr uint32_t kMaxBatch = 1u << 16;

}  // namespace

// lookup(fd, key, valueLength) → Buffer | null
Napi::Value MapLookup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = IntArg(info, 0, "map.lookup", "fd");
  auto key = BufferArg(info, 1, "map.lookup", "key");
  uint32_t length = SizeArg(info, 2, "map.lookup", "valueLength", 1, kMaxValueBytes);
  auto value = Napi::Buffer<uint8_t>::New(env, length);
  if (bpf_map_lookup_elem(fd, key.Data(), value.Data()) < 0) {
    if (errno == ENOENT) return env.Null();
    throw ErrnoError(env, "map.lookup", errno);
  }
  return value;
}

// update(fd, key, value, flags)
Napi::Value MapUpdate(const Napi::CallbackInfo& info) {
  int fd = IntArg(info, 0, "map.update", "fd");
  auto key = BufferArg(info, 1, "map.update", "key");
  auto value = BufferArg(info, 2, "map.update", "value");
  int flags = IntArg(info, 3, "map.update", "flags");
  if (bpf_map_update_elem(fd, key.Data(), value.Data(), static_cast<__u64>(flags)) < 0)
    throw ErrnoError(info.Env(), "map.update", errno);
  return info.Env().Undefined();
}

// delete(fd, key) → true if it existed
Napi::Value MapDelete(const Napi::CallbackInfo& info) {
  int fd = IntArg(info, 0, "map.delete", "fd");
  auto key = BufferArg(info, 1, "map.delete", "key");
  if (bpf_map_delete_elem(fd, key.Data()) < 0) {
    if (errno == ENOENT) return Napi::Boolean::New(info.Env(), false);
    throw ErrnoError(info.Env(), "map.delete", errno);
  }
  return Napi::Boolean::New(info.Env(), true);
}

// nextKey(fd, key | null, keySize) → Buffer | null at the end
Napi::Value MapNextKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = IntArg(info, 0, "map.keys", "fd");
  uint32_t keySize = SizeArg(info, 2, "map.keys", "keySize", 1, kMaxKeyBytes);
  const void* current = info[1].IsBuffer() ? info[1].As<Napi::Buffer<uint8_t>>().Data() : nullptr;
  auto next = Napi::Buffer<uint8_t>::New(env, keySize);
  if (bpf_map_get_next_key(fd, current, next.Data()) < 0) {
    if (errno == ENOENT) return env.Null();
    throw ErrnoError(env, "map.keys", errno);
  }
  return next;
}

// lookupBatch(fd, keySize, valueLength, batchSize) → { keys, values, count }
// Walks the whole map with BPF_MAP_LOOKUP_BATCH; throws (e.g. EINVAL/ENOTSUPP on
// map types without batch support) so TS can fall back to key iteration.
Napi::Value MapLookupBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = IntArg(info, 0, "map.lookupBatch", "fd");
  size_t keySize = SizeArg(info, 1, "map.lookupBatch", "keySize", 1, kMaxKeyBytes);
  size_t valueLength = SizeArg(info, 2, "map.lookupBatch", "valueLength", 1, kMaxValueBytes);
  uint32_t batchSize = SizeArg(info, 3, "map.lookupBatch", "batchSize", 1, kMaxBatch);
  std::vector<uint8_t> keys, values;
  std::vector<uint8_t> inBatch(keySize), outBatch(keySize);
  bool first = true;
  size_t total = 0;
  for (;;) {
    keys.resize((total + batchSize) * keySize);
    values.resize((total + batchSize) * valueLength);
    __u32 count = batchSize;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    int rc = bpf_map_lookup_batch(fd, first ? nullptr : inBatch.data(), outBatch.data(),
                                  keys.data() + total * keySize, values.data() + total * valueLength, &count, &opts);
    int err = rc < 0 ? errno : 0;
    // Hash maps return a bucket whole or not at all: a bucket holding more entries
    // than the batch fails with ENOSPC before copying anything. Retry the same
    // position with a larger batch (buckets are small, so this ends quickly).
    if (err == ENOSPC && count == 0 && batchSize < kMaxBatch) {
      batchSize = std::min(batchSize * 2, kMaxBatch);
      continue;
    }
    if (err != 0 && err != ENOENT) throw ErrnoError(env, "map.lookupBatch", err);
    total += count;
    if (err == ENOENT) break;  // the kernel's way of saying "that was the last batch"
    inBatch = outBatch;
    first = false;
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("keys", Napi::Buffer<uint8_t>::Copy(env, keys.data(), total * keySize));
  result.Set("values", Napi::Buffer<uint8_t>::Copy(env, values.data(), total * valueLength));
  result.Set("count", Napi::Number::New(env, static_cast<double>(total)));
  return result;
}

Napi::Value ObjPin(const Napi::CallbackInfo& info) {
  int fd = IntArg(info, 0, "pin", "fd");
  if (!info[1].IsString()) ThrowInvalid(info.Env(), "pin", "path must be a string");
  std::string path = info[1].As<Napi::String>();
  if (bpf_obj_pin(fd, path.c_str()) < 0) throw ErrnoError(info.Env(), "pin", errno, path);
  return info.Env().Undefined();
}

Napi::Value PossibleCpus(const Napi::CallbackInfo& info) {
  int n = libbpf_num_possible_cpus();
  if (n < 0) throw ErrnoError(info.Env(), "possibleCpus", -n);
  return Napi::Number::New(info.Env(), n);
}

void RegisterMap(Napi::Env env, Napi::Object exports) {
  Export<MapLookup>(env, exports, "mapLookup");
  Export<MapUpdate>(env, exports, "mapUpdate");
  Export<MapDelete>(env, exports, "mapDelete");
  Export<MapNextKey>(env, exports, "mapNextKey");
  Export<MapLookupBatch>(env, exports, "mapLookupBatch");
  Export<ObjPin>(env, exports, "objPin");
  Export<PossibleCpus>(env, exports, "possibleCpus");
}

}  // namespace stoq
