// SPDX-License-Identifier: Apache-2.0
// The redirect program of standalone sockets (no inhibitProgramLoad): what libxdp's
// default program does (XSKMAP[rx_queue_index], else XDP_PASS), but attached through a
// bpf_link, so the kernel detaches it when the last process holding the link exits,
// SIGKILL and crashes included. One per interface: sockets on other queues of the same
// interface share it, in this process (a registry) and across processes (a second
// process takes its own fd on the first one's link, found by id).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace stoq {

// Why Acquire() failed: errno, the failing step, and what occupies the interface when
// that is the reason (EBUSY).
struct RedirectError {
  int err = 0;
  std::string operation;
  uint32_t attachedProgramId = 0;     // 0: not known / nothing attached
  std::string attachedProgramName;
  std::string attachedThrough;        // "bpf_link" or "netlink"
  std::string attachedMode;           // "native" or "generic"
};

class XskRedirect {
 public:
  // The interface's redirect program: this process's, another process's (joined), or a
  // new one attached in native (driver) mode with an XSKMAP of `entries` slots.
  static std::shared_ptr<XskRedirect> Acquire(int ifindex, uint32_t entries, RedirectError* error);
  ~XskRedirect();
  XskRedirect(const XskRedirect&) = delete;
  XskRedirect& operator=(const XskRedirect&) = delete;

  // XSKMAP[queue] = xsk fd / delete it. Return 0 or a positive errno.
  int Insert(uint32_t queue, int xskFd);
  void Remove(uint32_t queue);

 private:
  XskRedirect(int linkFd, int mapFd, uint32_t progId) : linkFd_(linkFd), mapFd_(mapFd), progId_(progId) {}
  static std::shared_ptr<XskRedirect> Attach(int ifindex, uint32_t entries, RedirectError* error);
  static std::shared_ptr<XskRedirect> Join(int ifindex, uint32_t progId, RedirectError* error);

  int linkFd_;
  int mapFd_;
  uint32_t progId_;
};

}  // namespace stoq
