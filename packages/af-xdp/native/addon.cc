// SPDX-License-Identifier: Apache-2.0
// Module entry: the native surface declared in src/binding.ts.
#include <napi.h>

#include "address_watch.h"
#include "bpf_object.h"
#include "probe.h"
#include "route_lookup.h"
#include "socket.h"
#include "umem.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeUmem", stoq::Umem::Init(env));
  exports.Set("NativeSocket", stoq::Socket::Init(env));
  exports.Set("probeZeroCopy", Napi::Function::New(env, stoq::ProbeZeroCopy, "probeZeroCopy"));
  exports.Set("openPinned", Napi::Function::New(env, stoq::OpenPinned, "openPinned"));
  exports.Set("routeGet6", Napi::Function::New(env, stoq::RouteGet6, "routeGet6"));
  exports.Set("neighbourGet6", Napi::Function::New(env, stoq::NeighbourGet6, "neighbourGet6"));
  exports.Set("neighbourUse6", Napi::Function::New(env, stoq::NeighbourUse6, "neighbourUse6"));
  exports.Set("NativeAddressWatch", stoq::AddressWatch::Init(env));
  exports.Set("interfaceIndex", Napi::Function::New(env, stoq::InterfaceIndex, "interfaceIndex"));
  return exports;
}

}  // namespace

NODE_API_MODULE(stoq_af_xdp, Init)
