// SPDX-License-Identifier: Apache-2.0
// Module entry: registers the object class and the fd-based functions.
#include <napi.h>

#include "log_capture.h"
#include "object.h"

namespace stoq {
void RegisterProgram(Napi::Env env, Napi::Object exports);
void RegisterMap(Napi::Env env, Napi::Object exports);
void RegisterMapRegistry(Napi::Env env, Napi::Object exports);
void RegisterProbe(Napi::Env env, Napi::Object exports);
void RegisterIterator(Napi::Env env, Napi::Object exports);
}  // namespace stoq

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  stoq::LogCapture::Install();
  exports.Set("ObjectHandle", stoq::ObjectHandle::Define(env));
  stoq::RegisterProgram(env, exports);
  stoq::RegisterMap(env, exports);
  stoq::RegisterMapRegistry(env, exports);
  stoq::RegisterProbe(env, exports);
  stoq::RegisterIterator(env, exports);
  return exports;
}

NODE_API_MODULE(stoq_loader, Init)
