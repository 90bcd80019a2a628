// SPDX-License-Identifier: Apache-2.0
// BPF iterators (BPF_TRACE_ITER): a link binds an iterator program to a map; each
// read of a fresh iterator fd runs the program over every element in the kernel,
// so summarising a large map costs no per-element copy to userspace.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <napi.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <vector>

#include "args.h"
#include "error.h"
#include "export.h"

namespace stoq {

// iterLinkCreate(progFd, mapFd | -1) → link fd
Napi::Value IterLinkCreate(const Napi::CallbackInfo& info) {
  int progFd = IntArg(info, 0, "attachIterator", "fd");
  int mapFd = IntArg(info, 1, "attachIterator", "mapFd");
  union bpf_iter_link_info linkInfo = {};
  LIBBPF_OPTS(bpf_link_create_opts, opts);
  if (mapFd >= 0) {
    linkInfo.map.map_fd = static_cast<__u32>(mapFd);
    opts.iter_info = &linkInfo;
    opts.iter_info_len = sizeof(linkInfo);
  }
  int linkFd = bpf_link_create(progFd, 0, BPF_TRACE_ITER, &opts);
  if (linkFd < 0) throw ErrnoError(info.Env(), "attachIterator", errno);
  return Napi::Number::New(info.Env(), linkFd);
}

// Same bound as MAX_READ_BYTES in iterator.ts.
constexpr uint32_t kMaxReadBytes = 1u << 30;

// iterRead(linkFd, maxBytes) → Buffer: one complete pass of the iterator.
Napi::Value IterRead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int linkFd = IntArg(info, 0, "iterator.read", "fd");
  uint32_t maxBytes = SizeArg(info, 1, "iterator.read", "maxBytes", 1, kMaxReadBytes);
  int fd = bpf_iter_create(linkFd);
  if (fd < 0) throw ErrnoError(env, "iterator.read", errno);
  std::vector<uint8_t> out;
  uint8_t chunk[4096];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      throw ErrnoError(env, "iterator.read", err);
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > maxBytes) {
      close(fd);
      throw ErrnoError(env, "iterator.read", E2BIG, "the iterator wrote more than maxBytes");
    }
    out.insert(out.end(), chunk, chunk + n);
  }
  close(fd);
  return Napi::Buffer<uint8_t>::Copy(env, out.data(), out.size());
}

void RegisterIterator(Napi::Env env, Napi::Object exports) {
  Export<IterLinkCreate>(env, exports, "iterLinkCreate");
  Export<IterRead>(env, exports, "iterRead");
}

}  // namespace stoq
