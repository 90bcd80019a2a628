// SPDX-License-Identifier: Apache-2.0
// xsk_count: the minimal C AF_XDP receiver (libxdp, copy or zero-copy as the
// driver allows) that benchmarks compare against: receive, touch each packet's
// first byte, give the frame back. Prints "ready" once the socket is bound, libxdp's
// redirect program attached and the fill ring stocked (start the sender then), runs for
// SECONDS or until IDLE seconds pass without a packet after the first one, and prints
// one JSON line.
//
// Drain mode measures the receiver's own capacity, whatever the sender manages:
// FRAMES 2048-byte frames all lent to a fill ring and an RX ring that deep; after
// "ready" it consumes nothing until a "drain" line on stdin, then empties the RX
// ring with the same loop as above (no new arrivals), timing wall and CPU, and
// prints one JSON line per drain. "quit" or EOF prints the socket's statistics.
// The whole run is bounded by SECONDS (SIGALRM).
//
// "batch=N" (1..1024, default 64) sets how many descriptors one loop iteration takes.
// "thp" puts the UMEM on transparent huge pages (2 MiB-aligned,
// MADV_HUGEPAGE), as @stoq/af-xdp's Umem.create({ hugePages: true }) does; the JSON
// says how much of it the kernel backed with them.
//
// "stagger" places frames 64 bytes further apart than their size (unaligned chunk mode,
// as Umem.create({ layout: 'staggered' })), so packet heads spread over the cache sets.
//
//   xsk_count <ifname> <queue> <seconds> [idle-seconds] [drain <frames>] [batch=N] [thp] [stagger]
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <linux/if_xdp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <xdp/xsk.h>

#define LIVE_FRAMES 4096
#define LIVE_FRAME_SIZE 4096
#define LIVE_RING 2048
#define DRAIN_FRAME_SIZE 2048
#define MAX_BATCH 1024

static uint32_t batch = 64;

struct receiver {
  struct xsk_ring_cons rx;
  struct xsk_ring_prod fill;
  void *area;
  uint64_t packets, bytes, checksum;
};

#define HUGE_PAGE (2u << 20)

// AnonHugePages of the mapping that starts at `area`, in bytes (/proc/self/smaps).
static unsigned long long huge_page_bytes(const void *area) {
  FILE *f = fopen("/proc/self/smaps", "re");
  if (!f) return 0;
  char line[512];
  int inside = 0;
  unsigned long long kib = 0;
  while (fgets(line, sizeof line, f)) {
    uintptr_t start, end;
    if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &start, &end) == 2 && strchr(line, '-') < strchr(line, ' ')) {
      if (inside) break;
      inside = start == (uintptr_t)area;
    } else if (inside && sscanf(line, "AnonHugePages: %llu kB", &kib) == 1) {
      break;
    }
  }
  fclose(f);
  return inside ? kib * 1024 : 0;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

// One batch: touch each packet's first byte and hand its frame straight back.
static uint32_t receive_batch(struct receiver *r) {
  uint32_t idx = 0, fidx = 0;
  const uint32_t n = xsk_ring_cons__peek(&r->rx, batch, &idx);
  if (!n) return 0;
  while (xsk_ring_prod__reserve(&r->fill, n, &fidx) != n) {
  }
  for (uint32_t i = 0; i < n; i++) {
    const struct xdp_desc *d = xsk_ring_cons__rx_desc(&r->rx, idx + i);
    r->checksum += *(uint8_t *)xsk_umem__get_data(r->area, xsk_umem__add_offset_to_addr(d->addr));
    r->bytes += d->len;
    *xsk_ring_prod__fill_addr(&r->fill, fidx + i) = xsk_umem__extract_addr(d->addr);
  }
  xsk_ring_prod__submit(&r->fill, n);
  xsk_ring_cons__release(&r->rx, n);
  r->packets += n;
  return n;
}

static void live(struct receiver *r, int fd, double seconds, double idle, double *active, double *cpu) {
  double first = 0, last = 0, cpu_first = 0;
  const double start = now_seconds(), cpu_start = cpu_seconds();
  for (;;) {
    const double t = now_seconds();
    if (t - start > seconds || (r->packets && t - last > idle)) break;
    const int had = r->packets != 0;
    if (!had) cpu_first = cpu_seconds();
    if (!receive_batch(r)) {
      struct pollfd pfd = {.fd = fd, .events = POLLIN};
      poll(&pfd, 1, 100);
      continue;
    }
    if (!had) first = t;
    last = now_seconds();
  }
  *active = r->packets ? last - first : 0;
  *cpu = r->packets ? cpu_seconds() - cpu_first : cpu_seconds() - cpu_start;
}

static void drain(struct receiver *r, uint32_t frames) {
  char line[64];
  while (fgets(line, sizeof(line), stdin) && strncmp(line, "drain", 5) == 0) {
    const uint64_t before = r->packets;
    const uint32_t queued = xsk_cons_nb_avail(&r->rx, frames);
    const double t0 = now_seconds(), c0 = cpu_seconds();
    while (receive_batch(r)) {
    }
    const double t1 = now_seconds(), c1 = cpu_seconds();
    printf("{\"queued\":%u,\"packets\":%llu,\"seconds\":%.9f,\"cpuSeconds\":%.9f}\n", queued,
           (unsigned long long)(r->packets - before), t1 - t0, c1 - c0);
    fflush(stdout);
  }
}

int main(int argc, char **argv) {
  // Trailing options, in any order: batch=N, thp, stagger.
  int thp = 0, stagger = 0, args = argc;
  for (; args > 4; args--) {
    const char *opt = argv[args - 1];
    if (strcmp(opt, "thp") == 0) {
      thp = 1;
    } else if (strcmp(opt, "stagger") == 0) {
      stagger = 1;
    } else if (strncmp(opt, "batch=", 6) == 0) {
      char *end = NULL;
      const unsigned long b = strtoul(opt + 6, &end, 10);
      if (*end || b < 1 || b > MAX_BATCH) {
        fprintf(stderr, "batch must be an integer in [1, %u]\n", MAX_BATCH);
        return 2;
      }
      batch = (uint32_t)b;
    } else {
      break;
    }
  }
  const int drain_mode = args == 7 && strcmp(argv[5], "drain") == 0;
  if (args < 4 || (args > 5 && !drain_mode)) {
    fprintf(stderr, "usage: %s <ifname> <queue> <seconds> [idle-seconds] [drain <frames>] [batch=N] [thp] [stagger]\n", argv[0]);
    return 2;
  }
  const char *ifname = argv[1];
  const unsigned queue = (unsigned)atoi(argv[2]);
  const double seconds = atof(argv[3]);
  const double idle = args > 4 ? atof(argv[4]) : 1.0;
  const uint32_t frames = drain_mode ? (uint32_t)strtoul(argv[6], NULL, 10) : LIVE_FRAMES;
  if (drain_mode && (frames < 64 || frames > (1u << 20) || (frames & (frames - 1)))) {
    fprintf(stderr, "drain frames must be a power of two in [64, 1048576]\n");
    return 2;
  }
  const uint32_t frame_size = drain_mode ? DRAIN_FRAME_SIZE : LIVE_FRAME_SIZE;
  const uint32_t ring = drain_mode ? frames : LIVE_RING;
  if (drain_mode) alarm((unsigned)seconds + 1);

  struct receiver r = {0};
  // Staggered: each frame one cache line after the last one's multiple, as
  // @stoq/af-xdp's Umem.create({ layout: 'staggered' }) (unaligned chunk mode).
  const uint32_t stride = frame_size + (stagger ? 64 : 0);
  const size_t area_size = (size_t)frames * stride;
  // With thp: one huge page more, so a 2 MiB-aligned start fits inside.
  const size_t map_size = area_size + (thp ? HUGE_PAGE : 0);
  char *raw = mmap(NULL, map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return perror("mmap"), 1;
  r.area = thp ? (void *)(((uintptr_t)raw + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1)) : raw;
  if (thp && madvise(r.area, area_size, MADV_HUGEPAGE) != 0) perror("madvise(MADV_HUGEPAGE)");
  struct xsk_ring_prod tx;
  struct xsk_ring_cons comp;
  struct xsk_umem *umem;
  struct xsk_umem_config ucfg = {.fill_size = ring, .comp_size = LIVE_RING, .frame_size = frame_size,
                                   .flags = stagger ? XDP_UMEM_UNALIGNED_CHUNK_FLAG : 0};
  int err = xsk_umem__create(&umem, r.area, area_size, &r.fill, &comp, &ucfg);
  if (err) return fprintf(stderr, "xsk_umem__create: %s\n", strerror(-err)), 1;
  // Staggered frames cross pages, which zero-copy drivers refuse: bind copy mode then.
  struct xsk_socket_config scfg = {.rx_size = ring, .tx_size = LIVE_RING,
                                   .bind_flags = XDP_USE_NEED_WAKEUP | (stagger ? XDP_COPY : 0)};
  struct xsk_socket *xsk;
  err = xsk_socket__create(&xsk, ifname, queue, umem, &r.rx, &tx, &scfg);
  if (err) return fprintf(stderr, "xsk_socket__create: %s\n", strerror(-err)), 1;
  const int fd = xsk_socket__fd(xsk);
  struct xdp_options opts;
  socklen_t optlen = sizeof(opts);
  getsockopt(fd, SOL_XDP, XDP_OPTIONS, &opts, &optlen);

  uint32_t idx = 0;
  xsk_ring_prod__reserve(&r.fill, ring, &idx);
  for (uint32_t i = 0; i < ring; i++) *xsk_ring_prod__fill_addr(&r.fill, idx + i) = (uint64_t)i * stride;
  xsk_ring_prod__submit(&r.fill, ring);

  printf("ready\n");
  fflush(stdout);
  double active = 0, cpu = 0;
  if (drain_mode) drain(&r, frames);
  else live(&r, fd, seconds, idle, &active, &cpu);

  struct xdp_statistics st = {0};
  optlen = sizeof(st);
  getsockopt(fd, SOL_XDP, XDP_STATISTICS, &st, &optlen);
  printf("{\"packets\":%llu,\"bytes\":%llu,\"activeSeconds\":%.6f,\"cpuSeconds\":%.6f,\"mode\":\"%s\",\"layout\":\"%s\",\"rxDropped\":%llu,"
         "\"rxRingFull\":%llu,\"rxFillRingEmpty\":%llu,\"touched\":%llu,\"hugePageBytes\":%llu}\n",
         (unsigned long long)r.packets, (unsigned long long)r.bytes, active, cpu,
         (opts.flags & XDP_OPTIONS_ZEROCOPY) ? "zerocopy" : "copy", stagger ? "staggered" : "aligned", (unsigned long long)st.rx_dropped,
         (unsigned long long)st.rx_ring_full, (unsigned long long)st.rx_fill_ring_empty_descs, (unsigned long long)r.checksum,
         huge_page_bytes(r.area));
  xsk_socket__delete(xsk);
  xsk_umem__delete(umem);
  munmap(raw, map_size);
  return 0;
}
