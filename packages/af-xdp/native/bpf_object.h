// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <napi.h>

namespace stoq {

Napi::Value OpenPinned(const Napi::CallbackInfo& info);

}  // namespace stoq
