// SPDX-License-Identifier: Apache-2.0
#include "umem.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "errno_error.h"
#include "huge_pages.h"

namespace stoq {

namespace {

// Runs when V8 collects the buffer's memory. After ArrayBuffer.prototype.transfer()
// that is the moved buffer, while the UMEM is still registered and its sockets read
// it: so the buffer only drops its share, and the last owner unmaps.
void ReleaseArea(Napi::Env, void*, std::shared_ptr<Mapping>* hint) { delete hint; }

void Unmap(Mapping* mapping) {
  munmap(mapping->raw, mapping->rawSize);
  delete mapping;
}

}  // namespace

Napi::Function Umem::Init(Napi::Env env) {
  return DefineClass(env, "NativeUmem",
                     {
                         InstanceAccessor<&Umem::Buffer>("buffer"),
                         InstanceAccessor<&Umem::FreeFrames>("freeFrames"),
                         InstanceAccessor<&Umem::Fd>("fd"),
                         InstanceAccessor<&Umem::HugePageBytesNow>("hugePageBytes"),
                         InstanceMethod<&Umem::Destroy>("destroy"),
                     });
}

// new NativeUmem({ frameCount, frameSize, frameStride, headroom, fillSize, compSize, hugePages }) — validated in TS.
Umem::Umem(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Umem>(info) {
  Napi::Env env = info.Env();
  Napi::Object opts = info[0].As<Napi::Object>();
  const uint32_t frameCount = opts.Get("frameCount").As<Napi::Number>().Uint32Value();
  frameSize_ = opts.Get("frameSize").As<Napi::Number>().Uint32Value();
  frameStride_ = opts.Get("frameStride").As<Napi::Number>().Uint32Value();
  headroom_ = opts.Get("headroom").As<Napi::Number>().Uint32Value();
  size_ = size_t(frameCount) * frameStride_;

  Mapping mapping;
  if (int err = MapAnonymous(size_, opts.Get("hugePages").ToBoolean().Value(), &mapping)) ThrowErrno(env, "mmap(umem)", err);
  area_ = mapping.area;
  // Owned jointly by this object (sockets reach the memory through it) and the buffer
  // (JS views): unmapped when both are gone, whatever JS does with the buffer.
  // V8 counts the buffer's length as external memory itself (process.memoryUsage().external);
  // the huge-page alignment slack beyond it is never touched, so it costs nothing.
  mapping_ = std::shared_ptr<Mapping>(new Mapping(mapping), Unmap);
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, area_, size_, ReleaseArea, new std::shared_ptr<Mapping>(mapping_));
  buffer_ = Napi::Persistent(buffer);

  config_.fill_size = opts.Get("fillSize").As<Napi::Number>().Uint32Value();
  config_.comp_size = opts.Get("compSize").As<Napi::Number>().Uint32Value();
  config_.frame_size = frameSize_;
  config_.frame_headroom = headroom_;
  // A stride that is not a power of two needs unaligned chunk mode: the kernel then
  // takes fill addresses as given instead of rounding them down to a chunk boundary.
  // Why stagger at all: with power-of-two frames every packet head sits at one of two
  // offsets in its 4 KiB page (one with 4096-byte frames), and the L1 cache picks its
  // set from that offset, so all heads compete for 2 of its 64 sets (16 lines with 8
  // ways, 24 with 12; one set with 4096-byte frames). One more cache line per frame
  // walks the heads through every set.
  config_.flags = staggered() ? XDP_UMEM_UNALIGNED_CHUNK_FLAG : 0;
  int err = Register();
  if (err) ThrowErrno(env, "xsk_umem__create", err);
  free_.reserve(frameCount);
  // Pop order: low addresses first, which keeps early traffic in few pages.
  for (uint32_t i = frameCount; i-- > 0;) free_.push_back(uint64_t(i) * frameStride_);
}

Umem::~Umem() {
  if (umem_) xsk_umem__delete(umem_);
}

int Umem::Register() {
  fill_ = {};
  comp_ = {};
  int err = xsk_umem__create(&umem_, area_, size_, &fill_, &comp_, &config_);
  if (err) umem_ = nullptr;
  return err;
}

bool Umem::claimPrimaryRings(xsk_ring_prod** fill, xsk_ring_cons** comp, int* err) {
  *err = 0;
  if (!socketFds_.empty()) return false;
  if (umem_ && primaryClaimed_) {
    // A first bind failed after libxdp had set up the rings on the UMEM fd.
    xsk_umem__delete(umem_);
    umem_ = nullptr;
  }
  if (!umem_) {
    *err = Register();
    if (*err) return false;
  }
  primaryClaimed_ = true;
  *fill = &fill_;
  *comp = &comp_;
  return true;
}

void Umem::socketOpened(int fd) {
  socketFds_.push_back(fd);
  if (fd == xsk_umem__fd(umem_)) aliased_ = fd;
}

int Umem::socketClosed(int fd) {
  socketFds_.erase(std::remove(socketFds_.begin(), socketFds_.end(), fd), socketFds_.end());
  // Any other socket's own fd was closed by xsk_socket__delete: its file is gone.
  if (fd != aliased_) return 0;
  if (socketFds_.empty()) {
    // libxdp's count of sockets is 0 now, so this closes the UMEM fd; the next open registers anew.
    aliased_ = -1;
    if (int err = xsk_umem__delete(umem_)) return -err;
    umem_ = nullptr;
    primaryClaimed_ = false;
    return 0;
  }
  // Sockets that share a UMEM hold the kernel's UMEM themselves, and any of them
  // serves as XDP_SHARED_UMEM fd for later binds: the closed socket's file can go.
  const int next = socketFds_.front();
  // EBUSY is Linux's transient race with an open() on the target fd: retry, boundedly.
  int r = -1;
  for (int tries = 0; tries < 100; tries++) {
    r = dup2(next, xsk_umem__fd(umem_));
    if (r >= 0 || (errno != EINTR && errno != EBUSY)) break;
  }
  if (r < 0) return errno;
  aliased_ = next;
  return 0;
}

bool Umem::popFrame(uint64_t* addr) {
  if (free_.empty()) return false;
  *addr = free_.back();
  free_.pop_back();
  return true;
}

Napi::Value Umem::Buffer(const Napi::CallbackInfo& info) { return buffer_.Value(); }

Napi::Value Umem::FreeFrames(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), double(free_.size()));
}

Napi::Value Umem::Fd(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), umem_ ? xsk_umem__fd(umem_) : -1);
}

// Registration pinned (and so faulted in) every page: this is what the kernel gave.
Napi::Value Umem::HugePageBytesNow(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), double(HugePageBytes(area_)));
}

// Closes the UMEM's fd once no socket uses it; the mapping lives until this object and the buffer are collected.
void Umem::Destroy(const Napi::CallbackInfo& info) {
  if (destroyed_) return;
  if (!socketFds_.empty()) ThrowErrno(info.Env(), "xsk_umem__delete", EBUSY);
  if (umem_) {
    int err = xsk_umem__delete(umem_);
    if (err) ThrowErrno(info.Env(), "xsk_umem__delete", err);
    umem_ = nullptr;
  }
  destroyed_ = true;
}

}  // namespace stoq
