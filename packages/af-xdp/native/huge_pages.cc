// SPDX-License-Identifier: Apache-2.0
#include "huge_pages.h"

#include <sys/mman.h>

#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace stoq {

namespace {
constexpr size_t kHugePage = size_t(2) << 20;
}

int MapAnonymous(size_t size, bool hugePages, Mapping* out) {
  // Over-allocate by one huge page so an aligned start fits; the slack stays mapped
  // (untouched, so it costs no memory) and is unmapped with the rest.
  const size_t rawSize = hugePages ? size + kHugePage : size;
  void* raw = mmap(nullptr, rawSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return errno;
  void* area = raw;
  if (hugePages) {
    area = reinterpret_cast<void*>((uintptr_t(raw) + kHugePage - 1) & ~uintptr_t(kHugePage - 1));
    // Advice, not a requirement: with THP off ("never") the UMEM works on 4 KiB pages,
    // and HugePageBytes() reports 0.
    madvise(area, size, MADV_HUGEPAGE);
  }
  *out = Mapping{raw, rawSize, area};
  return 0;
}

size_t HugePageBytes(const void* area) {
  FILE* smaps = fopen("/proc/self/smaps", "re");
  if (!smaps) return 0;
  char line[512];
  bool inside = false;
  size_t kib = 0;
  while (fgets(line, sizeof line, smaps)) {
    uintptr_t start = 0, end = 0;
    // A VMA header: "start-end perms ..."; field lines start with a capitalised name.
    if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &start, &end) == 2 && strchr(line, '-') < strchr(line, ' ')) {
      if (inside) break;
      inside = start == uintptr_t(area);
    } else if (inside && sscanf(line, "AnonHugePages: %zu kB", &kib) == 1) {
      break;
    }
  }
  fclose(smaps);
  return inside ? kib * 1024 : 0;
}

}  // namespace stoq
