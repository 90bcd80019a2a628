// SPDX-License-Identifier: Apache-2.0
// How receive() gets packet heads into cache before JS reads them. The JS loop that
// follows a receive() cannot overlap its loads with much else, so the heads should be
// in cache by the time it runs. receive() prefetches the heads of the batch it returns
// and, over an aligned UMEM, those of up to two batches queued behind it.
// Drain bench, 64 B, Node receiver, on two VM hosts (packages/af-xdp/bench/README.md
// has the runs):
//  - aligned frames: the heads share 2 L1 sets, so lines prefetched early are evicted
//    early. On the first host, prefetching the batch and two batches behind it (each
//    head three times) was best (~44 Mpps per CPU-second, against ~42 for the batch
//    alone); on the second (48 KiB L1) every schedule tried drained at 58-80 % of the
//    C receiver and the window was among the best (69-80 %).
//  - staggered frames: the batch alone. Further ahead was no better and the window
//    worse. Plain loads of each head instead won on huge pages on the first host
//    (72-74 Mpps against 59) and lost everywhere on the second (huge pages 65-76
//    against 120-121; 4 KiB pages 63-65 against 85-89), so prefetches throughout.
#pragma once

#include <algorithm>
#include <cstdint>

namespace stoq {

// Most heads prefetched beyond the returned batch (a window of 2048 drained slower).
constexpr uint32_t kMaxPrefetchAhead = 1024;

inline uint32_t HeadsPrefetchedAhead(bool staggered, uint32_t batchCapacity) {
  return staggered ? 0 : std::min<uint32_t>(2 * batchCapacity, kMaxPrefetchAhead);
}

}  // namespace stoq
