// SPDX-License-Identifier: Apache-2.0
// Every exported function is registered through Export: node-addon-api turns only
// Napi::Error into a JS exception, and any other C++ exception escaping a callback
// (bad_alloc, length_error from a size the checks missed) would std::terminate the
// process. Here they become errno-carrying errors that TS types like the rest.
#pragma once
#include <napi.h>

#include <cerrno>
#include <new>
#include <stdexcept>

#include "error.h"

namespace stoq {

template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value Guarded(const Napi::CallbackInfo& info) {
  const char* operation = static_cast<const char*>(info.Data());
  try {
    return F(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw ErrnoError(info.Env(), operation, ENOMEM, "out of memory in the addon");
  } catch (const std::logic_error& e) {
    throw ErrnoError(info.Env(), operation, EINVAL, e.what());
  } catch (const std::exception& e) {
    throw ErrnoError(info.Env(), operation, EIO, e.what());
  }
}

// `name` is the JS property and the operation errors report; a string literal (kept as is).
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
void Export(Napi::Env env, Napi::Object exports, const char* name) {
  exports.Set(name, Napi::Function::New<Guarded<F>>(env, name, const_cast<char*>(name)));
}

}  // namespace stoq
