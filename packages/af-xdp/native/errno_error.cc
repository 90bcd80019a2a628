// SPDX-License-Identifier: Apache-2.0
#include "errno_error.h"

#include <cstdlib>
#include <cstring>
#include <string>

namespace stoq {

Napi::Error ErrnoError(Napi::Env env, const char* operation, int err) {
  const int code = std::abs(err);
  std::string message = std::string(operation) + " failed: " + std::strerror(code);
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("errno", Napi::Number::New(env, code));
  error.Set("operation", Napi::String::New(env, operation));
  return error;
}

void ThrowErrno(Napi::Env env, const char* operation, int err) {
  throw ErrnoError(env, operation, err);
}

}  // namespace stoq
