// SPDX-License-Identifier: Apache-2.0
// openPinned(path) -> fd of a pinned BPF object (e.g. the owner's XSKMAP), so a
// socket opened with inhibitProgramLoad can register itself without @stoq/loader.
#include <bpf/bpf.h>

#include <cerrno>
#include <string>

#include "bpf_object.h"
#include "errno_error.h"

namespace stoq {

Napi::Value OpenPinned(const Napi::CallbackInfo& info) {
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  const int fd = bpf_obj_get(path.c_str());
  if (fd < 0) ThrowErrno(info.Env(), "bpf_obj_get", errno);
  return Napi::Number::New(info.Env(), fd);
}

}  // namespace stoq
