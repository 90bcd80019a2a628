// SPDX-License-Identifier: Apache-2.0
// How receive() gets packet heads into cache before JS reads them. The JS loop that
// follows a receive() cannot overlap its loads with much else, so the heads should be
// in cache by the time it runs; what gets them there fastest depends on the UMEM.
// Drain bench, 64 B, Node receiver on the development VM (packages/af-xdp/bench/README.md
// has the runs):
//  - aligned frames: the heads share 2 L1 sets, so lines prefetched early are evicted
//    early; prefetching the batch and two batches behind it (each head three times)
//    was best (~44 Mpps per CPU-second, against ~42 for the batch alone).
//  - staggered frames on 4 KiB pages: the batch alone. Further ahead was no better and
//    the old window worse (Node/C 70-80 % against 77-90 %); loading each head instead
//    of prefetching it, 74-76 % against 79-93 % in alternating runs.
//  - staggered frames on huge pages: a plain load of each head (72-74 Mpps against 59
//    for prefetches): the addresses then form one stride across contiguous memory that
//    the hardware prefetchers follow, and software prefetches only queue in front.
#pragma once

namespace stoq {

enum class HeadWarming { kPrefetchWithWindow, kPrefetch, kLoad };

inline HeadWarming ChooseHeadWarming(bool staggered, bool onHugePages) {
  if (!staggered) return HeadWarming::kPrefetchWithWindow;
  return onHugePages ? HeadWarming::kLoad : HeadWarming::kPrefetch;
}

}  // namespace stoq
