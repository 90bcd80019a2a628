// SPDX-License-Identifier: Apache-2.0
// Module entry: the native surface declared in src/binding.ts.
#include <napi.h>

#include "bpf_object.h"
#include "probe.h"
#include "socket.h"
#include "umem.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeUmem", stoq::Umem::Init(env));
  exports.Set("NativeSocket", stoq::Socket::Init(env));
  exports.Set("probeZeroCopy", Napi::Function::New(env, stoq::ProbeZeroCopy, "probeZeroCopy"));
  exports.Set("openPinned", Napi::Function::New(env, stoq::OpenPinned, "openPinned"));
  return exports;
}

}  // namespace

NODE_API_MODULE(stoq_af_xdp, Init)
