// SPDX-License-Identifier: Apache-2.0
#include "error.h"

#include <cerrno>
#include <cstring>

namespace stoq {

Napi::Error ErrnoError(Napi::Env env, const std::string& operation, int err,
                       const std::string& detail, const std::string& log) {
  std::string message = operation + ": " + std::strerror(err);
  if (!detail.empty()) message += " (" + detail + ")";
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("operation", Napi::String::New(env, operation));
  if (!log.empty()) error.Set("log", Napi::String::New(env, log));
  return error;
}

void ThrowInvalid(Napi::Env env, const std::string& operation, const std::string& what) {
  throw ErrnoError(env, operation, EINVAL, what);
}

}  // namespace stoq
