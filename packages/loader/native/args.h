// SPDX-License-Identifier: Apache-2.0
// Argument readers for the fd-based functions: TS validates first, these only
// guarantee that a wrong type becomes an EINVAL error instead of a crash.
#pragma once
#include <napi.h>

#include <string>

#include "error.h"

namespace stoq {

inline int32_t IntArg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  if (!info[i].IsNumber()) ThrowInvalid(info.Env(), op, std::string(name) + " must be a number");
  return info[i].As<Napi::Number>().Int32Value();
}

inline Napi::Buffer<uint8_t> BufferArg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  if (!info[i].IsBuffer()) ThrowInvalid(info.Env(), op, std::string(name) + " must be a Buffer");
  return info[i].As<Napi::Buffer<uint8_t>>();
}

}  // namespace stoq
