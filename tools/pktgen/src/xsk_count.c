// SPDX-License-Identifier: Apache-2.0
// xsk_count: the minimal C AF_XDP receiver (libxdp, copy or zero-copy as the
// driver allows) that benchmarks compare against: receive, touch each packet's
// first byte, give the frame back. Runs for SECONDS or until IDLE seconds pass
// without a packet after the first one; prints one JSON line.
//
//   xsk_count <ifname> <queue> <seconds> [idle-seconds]
#define _GNU_SOURCE
#include <errno.h>
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

#define FRAMES 4096
#define FRAME_SIZE 4096
#define RING 2048
#define BATCH 64

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

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s <ifname> <queue> <seconds> [idle-seconds]\n", argv[0]);
    return 2;
  }
  const char *ifname = argv[1];
  const unsigned queue = (unsigned)atoi(argv[2]);
  const double seconds = atof(argv[3]);
  const double idle = argc > 4 ? atof(argv[4]) : 1.0;

  void *area = mmap(NULL, (size_t)FRAMES * FRAME_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED) return perror("mmap"), 1;
  struct xsk_ring_prod fill, tx;
  struct xsk_ring_cons comp, rx;
  struct xsk_umem *umem;
  struct xsk_umem_config ucfg = {.fill_size = RING, .comp_size = RING, .frame_size = FRAME_SIZE};
  int err = xsk_umem__create(&umem, area, (uint64_t)FRAMES * FRAME_SIZE, &fill, &comp, &ucfg);
  if (err) return fprintf(stderr, "xsk_umem__create: %s\n", strerror(-err)), 1;
  struct xsk_socket_config scfg = {.rx_size = RING, .tx_size = RING, .bind_flags = XDP_USE_NEED_WAKEUP};
  struct xsk_socket *xsk;
  err = xsk_socket__create(&xsk, ifname, queue, umem, &rx, &tx, &scfg);
  if (err) return fprintf(stderr, "xsk_socket__create: %s\n", strerror(-err)), 1;
  const int fd = xsk_socket__fd(xsk);
  struct xdp_options opts;
  socklen_t optlen = sizeof(opts);
  getsockopt(fd, SOL_XDP, XDP_OPTIONS, &opts, &optlen);

  uint32_t idx = 0;
  xsk_ring_prod__reserve(&fill, RING, &idx);
  for (uint32_t i = 0; i < RING; i++) *xsk_ring_prod__fill_addr(&fill, idx + i) = (uint64_t)i * FRAME_SIZE;
  xsk_ring_prod__submit(&fill, RING);

  printf("ready\n");
  fflush(stdout);
  uint64_t packets = 0, bytes = 0, checksum = 0;
  double first = 0, last = 0;
  const double start = now_seconds();
  double cpu_start = cpu_seconds(), cpu_first = 0;
  for (;;) {
    double t = now_seconds();
    if (t - start > seconds || (packets && t - last > idle)) break;
    uint32_t n = xsk_ring_cons__peek(&rx, BATCH, &idx);
    if (!n) {
      struct pollfd pfd = {.fd = fd, .events = POLLIN};
      poll(&pfd, 1, 100);
      continue;
    }
    if (!packets) {
      first = t;
      cpu_first = cpu_seconds();
    }
    uint32_t fidx;
    while (xsk_ring_prod__reserve(&fill, n, &fidx) != n) {
    }
    for (uint32_t i = 0; i < n; i++) {
      const struct xdp_desc *d = xsk_ring_cons__rx_desc(&rx, idx + i);
      checksum += *(uint8_t *)xsk_umem__get_data(area, d->addr);
      bytes += d->len;
      *xsk_ring_prod__fill_addr(&fill, fidx + i) = xsk_umem__extract_addr(d->addr);
    }
    xsk_ring_prod__submit(&fill, n);
    xsk_ring_cons__release(&rx, n);
    packets += n;
    last = now_seconds();
  }
  const double active = packets ? last - first : 0;
  const double cpu = packets ? cpu_seconds() - cpu_first : cpu_seconds() - cpu_start;
  struct xdp_statistics st = {0};
  optlen = sizeof(st);
  getsockopt(fd, SOL_XDP, XDP_STATISTICS, &st, &optlen);
  printf("{\"packets\":%llu,\"bytes\":%llu,\"activeSeconds\":%.6f,\"cpuSeconds\":%.6f,\"mode\":\"%s\",\"rxDropped\":%llu,"
         "\"rxRingFull\":%llu,\"rxFillRingEmpty\":%llu,\"touched\":%llu}\n",
         (unsigned long long)packets, (unsigned long long)bytes, active, cpu,
         (opts.flags & XDP_OPTIONS_ZEROCOPY) ? "zerocopy" : "copy", (unsigned long long)st.rx_dropped,
         (unsigned long long)st.rx_ring_full, (unsigned long long)st.rx_fill_ring_empty_descs, (unsigned long long)checksum);
  xsk_socket__delete(xsk);
  xsk_umem__delete(umem);
  munmap(area, (size_t)FRAMES * FRAME_SIZE);
  return 0;
}
