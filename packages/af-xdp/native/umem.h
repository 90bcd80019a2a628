// SPDX-License-Identifier: Apache-2.0
// A UMEM: one anonymous mapping registered with the kernel, exposed to JS as an
// external ArrayBuffer, plus the free-frame stack shared by every socket on it. The
// mapping is shared-owned by this object and the buffer, so neither a collected
// buffer (moved away by transfer()) nor a collected UMEM unmaps what the other uses.
#pragma once

#include <napi.h>
#include <xdp/xsk.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "huge_pages.h"

namespace stoq {

class Umem : public Napi::ObjectWrap<Umem> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit Umem(const Napi::CallbackInfo& info);
  ~Umem() override;

  xsk_umem* handle() const { return umem_; }
  uint32_t frameSize() const { return frameSize_; }
  // Bytes from one frame's start to the next: frameSize, or more for a staggered UMEM
  // (unaligned chunk mode, see umem.cc).
  uint32_t frameStride() const { return frameStride_; }
  bool staggered() const { return frameStride_ != frameSize_; }
  // Start of the frame that holds UMEM offset `addr`.
  uint64_t frameStart(uint64_t addr) const {
    return staggered() ? addr - addr % frameStride_ : addr & ~uint64_t(frameSize_ - 1);
  }
  uint32_t headroom() const { return headroom_; }
  uint8_t* area() const { return static_cast<uint8_t*>(area_); }

  // The UMEM's own fill/completion rings go to the first socket only (libxdp rule).
  // Returns false when a socket already has them. With no socket left, the UMEM is
  // registered (again) first: libxdp cannot bind a fresh first socket over a UMEM fd
  // whose rings were already set up (after a failed bind).
  bool claimPrimaryRings(xsk_ring_prod** fill, xsk_ring_cons** comp, int* err);
  bool destroyed() const { return destroyed_; }
  // libxdp binds the first socket on the UMEM's own fd and xsk_socket__delete never
  // closes that fd, so the kernel socket would outlive close(): still bound to its
  // queue, still in every XSKMAP, still filling the frames it was lent. socketClosed()
  // (after xsk_socket__delete) points the UMEM fd at another live socket (dup2), or
  // with the last socket closes the registration, so the closed socket's file goes.
  // Returns 0, or an errno when the closed socket may still be bound.
  void socketOpened(int fd);
  int socketClosed(int fd);

  bool popFrame(uint64_t* addr);
  void pushFrame(uint64_t addr) { free_.push_back(frameStart(addr)); }
  size_t freeFrames() const { return free_.size(); }

 private:
  Napi::Value Buffer(const Napi::CallbackInfo& info);
  Napi::Value FreeFrames(const Napi::CallbackInfo& info);
  Napi::Value Fd(const Napi::CallbackInfo& info);
  Napi::Value HugePageBytesNow(const Napi::CallbackInfo& info);
  void Destroy(const Napi::CallbackInfo& info);

  std::shared_ptr<Mapping> mapping_;
  void* area_ = nullptr;  // mapping_->area
  size_t size_ = 0;
  uint32_t frameSize_ = 0;
  uint32_t frameStride_ = 0;
  uint32_t headroom_ = 0;
  xsk_umem* umem_ = nullptr;
  xsk_ring_prod fill_{};
  xsk_ring_cons comp_{};
  int Register();

  xsk_umem_config config_{};
  bool primaryClaimed_ = false;
  bool destroyed_ = false;
  std::vector<int> socketFds_;  // fds of the sockets bound over this UMEM, oldest first
  int aliased_ = -1;            // the one of them whose file the UMEM fd refers to
  std::vector<uint64_t> free_;
  Napi::Reference<Napi::ArrayBuffer> buffer_;
};

}  // namespace stoq
