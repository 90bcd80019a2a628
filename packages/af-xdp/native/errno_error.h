// SPDX-License-Identifier: Apache-2.0
// Errors leave native code as a plain JS Error with `errno` (positive) and
// `operation`; src/errors.ts turns them into typed XskError objects with codes and hints.
#pragma once

#include <napi.h>

namespace stoq {

Napi::Error ErrnoError(Napi::Env env, const char* operation, int err);

// Throws ErrnoError. `err` may be given as a negative libxdp return value or a positive errno.
[[noreturn]] void ThrowErrno(Napi::Env env, const char* operation, int err);

}  // namespace stoq
