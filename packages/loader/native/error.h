// SPDX-License-Identifier: Apache-2.0
// Errors leave the addon as plain JS Errors carrying errno, the failing operation
// and (for loads) the verifier log; src/errors.ts turns them into typed BpfErrors
// with stable codes and hints. Policy stays in TypeScript.
#pragma once
#include <napi.h>
#include <string>

namespace stoq {

// `err` is a positive errno value (libbpf returns -errno; callers negate).
Napi::Error ErrnoError(Napi::Env env, const std::string& operation, int err,
                       const std::string& detail = "", const std::string& log = "");

// Bad input from JS that TS validation should have caught: EINVAL, no crash.
[[noreturn]] void ThrowInvalid(Napi::Env env, const std::string& operation, const std::string& what);

}  // namespace stoq
