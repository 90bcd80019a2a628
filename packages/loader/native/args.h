// SPDX-License-Identifier: Apache-2.0
// Argument readers for the fd-based functions: TS validates first, these only
// guarantee that a wrong type or size becomes an EINVAL error instead of a crash.
#pragma once
#include <napi.h>

#include <cmath>
#include <string>

#include "error.h"

namespace stoq {

inline int32_t IntArg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  if (!info[i].IsNumber()) ThrowInvalid(info.Env(), op, std::string(name) + " must be a number");
  return info[i].As<Napi::Number>().Int32Value();
}

// A size or count in [min, max]. Int32Value would wrap 2**32 + 100 to 100 silently, and a
// huge size would throw std::length_error or bad_alloc from the vector holding it.
inline uint32_t SizeArg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name,
                        uint32_t min, uint32_t max) {
  if (!info[i].IsNumber()) ThrowInvalid(info.Env(), op, std::string(name) + " must be a number");
  double value = info[i].As<Napi::Number>().DoubleValue();
  if (!(value >= min && value <= max) || std::floor(value) != value) {
    ThrowInvalid(info.Env(), op, std::string(name) + " must be an integer in " + std::to_string(min) + ".." + std::to_string(max));
  }
  return static_cast<uint32_t>(value);
}

inline Napi::Buffer<uint8_t> BufferArg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  if (!info[i].IsBuffer()) ThrowInvalid(info.Env(), op, std::string(name) + " must be a Buffer");
  return info[i].As<Napi::Buffer<uint8_t>>();
}

}  // namespace stoq
