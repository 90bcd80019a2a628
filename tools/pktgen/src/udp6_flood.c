// SPDX-License-Identifier: Apache-2.0
// udp6_flood: a fast, bounded UDP/IPv6 sender for benchmarks (sendmmsg batches).
// Stops after COUNT datagrams or SECONDS, whichever comes first, and prints one
// JSON line with what it sent. Only ever run it inside a lab namespace.
// With the optional "initial" shape every payload is a QUIC v1 long-header Initial
// (a fresh 8-byte DCID per datagram) padded to the size asked, for Initial floods.
//
//   udp6_flood <dst-address> <port> <payload-bytes> <count> <seconds> [raw|initial]
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 6 && argc != 7) {
    fprintf(stderr, "usage: %s <dst-ipv6> <port> <payload-bytes> <count> <seconds> [raw|initial]\n", argv[0]);
    return 2;
  }
  const int initial = argc == 7 && strcmp(argv[6], "initial") == 0;
  if (argc == 7 && !initial && strcmp(argv[6], "raw") != 0) {
    fprintf(stderr, "payload shape must be raw or initial\n");
    return 2;
  }
  struct sockaddr_in6 dst = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)atoi(argv[2]))};
  if (inet_pton(AF_INET6, argv[1], &dst.sin6_addr) != 1) {
    fprintf(stderr, "bad IPv6 address %s\n", argv[1]);
    return 2;
  }
  const size_t payload = strtoul(argv[3], NULL, 10);
  const uint64_t count = strtoull(argv[4], NULL, 10);
  const double seconds = atof(argv[5]);
  if (payload < (initial ? 24 : 8) || payload > 1400 || count == 0 || seconds <= 0 || seconds > 120) {
    fprintf(stderr, "payload must be 8..1400 bytes (24.. for initial), count > 0, seconds in (0, 120]\n");
    return 2;
  }

  int fd = socket(AF_INET6, SOCK_DGRAM, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
    perror("socket/connect");
    return 1;
  }
  int sndbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));

  static uint8_t buffers[BATCH][1400];
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  memset(msgs, 0, sizeof(msgs));
  for (int i = 0; i < BATCH; i++) {
    memset(buffers[i], 0xa5, payload);
    if (initial) {
      // Long header, fixed bit, type Initial, 4-byte packet number; QUIC v1; DCID 8 bytes;
      // no SCID; no token; a 2-byte length varint covering the rest.
      const uint8_t header[] = {0xc3, 0, 0, 0, 1, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
      memcpy(buffers[i], header, sizeof(header));
      const size_t rest = payload - sizeof(header) - 2;
      buffers[i][sizeof(header)] = (uint8_t)(0x40 | (rest >> 8));
      buffers[i][sizeof(header) + 1] = (uint8_t)(rest & 0xff);
    }
    iov[i].iov_base = buffers[i];
    iov[i].iov_len = payload;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }

  uint64_t sent = 0, errors = 0;
  const double start = now_seconds();
  double elapsed = 0;
  while (sent < count && (elapsed = now_seconds() - start) < seconds) {
    unsigned int n = (unsigned int)(count - sent < BATCH ? count - sent : BATCH);
    // A sequence number: at the start of raw payloads, as the DCID of Initials.
    for (unsigned int i = 0; i < n; i++) memcpy(buffers[i] + (initial ? 6 : 0), &(uint64_t){sent + i}, sizeof(uint64_t));
    int r = sendmmsg(fd, msgs, n, 0);
    if (r < 0) {
      if (errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED) {
        perror("sendmmsg");
        return 1;
      }
      errors++;
      continue;
    }
    sent += (uint64_t)r;
  }
  elapsed = now_seconds() - start;
  close(fd);
  printf("{\"sent\":%llu,\"seconds\":%.6f,\"pps\":%.0f,\"payload\":%zu,\"shape\":\"%s\",\"sendErrors\":%llu}\n",
         (unsigned long long)sent, elapsed, sent / elapsed, payload, initial ? "initial" : "raw", (unsigned long long)errors);
  return 0;
}
