// SPDX-License-Identifier: Apache-2.0
#include "log_capture.h"

#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>

namespace stoq {
namespace {

thread_local std::string* active = nullptr;
constexpr size_t kMaxLog = 4 << 20;  // verifier logs can be huge; keep the tail that matters

int Print(enum libbpf_print_level level, const char* format, va_list args) {
  if (active == nullptr) return 0;  // outside a captured operation: stay quiet
  if (level == LIBBPF_DEBUG) return 0;
  va_list copy;
  va_copy(copy, args);
  int n = vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  if (n <= 0 || active->size() >= kMaxLog) return n;
  std::string line(static_cast<size_t>(n) + 1, '\0');
  vsnprintf(line.data(), line.size(), format, args);
  line.resize(static_cast<size_t>(n));
  active->append(line);
  return n;
}

}  // namespace

LogCapture::LogCapture() { active = new std::string(); }

LogCapture::~LogCapture() {
  delete active;
  active = nullptr;
}

std::string LogCapture::Take() { return active ? std::move(*active) : std::string(); }

void LogCapture::Install() { libbpf_set_print(Print); }

}  // namespace stoq
