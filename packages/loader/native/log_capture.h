// SPDX-License-Identifier: Apache-2.0
// libbpf prints warnings and the verifier log through one global callback. We
// collect them per thread while an operation runs, so they end up in the error
// of that operation instead of on the process's stderr.
#pragma once
#include <string>

namespace stoq {

class LogCapture {
 public:
  LogCapture();   // starts collecting libbpf output on this thread
  ~LogCapture();  // stops
  std::string Take();

  static void Install();  // once, at module load
};

}  // namespace stoq
