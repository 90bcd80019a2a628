// SPDX-License-Identifier: Apache-2.0
// Anonymous memory on transparent huge pages (2 MiB): a UMEM read by a receive loop
// touches a new 4 KiB page every second 2048-byte frame, and each TLB miss there is a
// page walk (a nested one in a VM). THP needs no hugetlbfs reservation.
#pragma once

#include <cstddef>

namespace stoq {

struct Mapping {
  void* raw = nullptr;   // what munmap() gets
  size_t rawSize = 0;
  void* area = nullptr;  // the usable, aligned part
};

// mmap()s `size` bytes; with hugePages, 2 MiB-aligned and advised MADV_HUGEPAGE.
// Returns errno (0 on success).
int MapAnonymous(size_t size, bool hugePages, Mapping* out);

// Bytes of the mapping that starts at `area` backed by huge pages now (AnonHugePages
// in /proc/self/smaps); 0 when unknown.
size_t HugePageBytes(const void* area);

}  // namespace stoq
