// SPDX-License-Identifier: Apache-2.0
// Socket lifecycle: create/bind through libxdp, the redirect program of standalone
// sockets (xsk_redirect.cc), busy-poll options, the bound mode read back from the
// kernel, statistics, close.
#include "socket.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "errno_error.h"

#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL 69
#endif
#ifndef SO_BUSY_POLL_BUDGET
#define SO_BUSY_POLL_BUDGET 70
#endif

namespace stoq {

Napi::Function Socket::Init(Napi::Env env) {
  return DefineClass(env, "NativeSocket",
                     {
                         InstanceAccessor<&Socket::Fd>("fd"),
                         InstanceMethod<&Socket::ZeroCopy>("zeroCopy"),
                         InstanceMethod<&Socket::Statistics>("statistics"),
                         InstanceMethod<&Socket::UpdateXskMap>("updateXskMap"),
                         InstanceMethod<&Socket::Close>("close"),
                         InstanceMethod<&Socket::CreateBatchArrays>("createBatchArrays"),
                         InstanceMethod<&Socket::Receive>("receive"),
                         InstanceMethod<&Socket::ReleaseRx>("releaseRx"),
                         InstanceMethod<&Socket::AllocTx>("allocTx"),
                         InstanceMethod<&Socket::SubmitTx>("submitTx"),
                         InstanceMethod<&Socket::CancelTx>("cancelTx"),
                         InstanceMethod<&Socket::Reap>("reap"),
                         InstanceMethod<&Socket::StartPoll>("startPoll"),
                         InstanceMethod<&Socket::StopPoll>("stopPoll"),
                         InstanceMethod<&Socket::SetRef>("setRef"),
                     });
}

// new NativeSocket(umem, { ifname, queueId, zeroCopy, needWakeup, rxSize, txSize,
//   inhibitProgramLoad, xskMapEntries, busyPollUsecs, busyPollBudget, rxFrames }) — validated in TS.
Socket::Socket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Socket>(info) {
  Napi::Env env = info.Env();
  Napi::Object umemObject = info[0].As<Napi::Object>();
  Napi::Object opts = info[1].As<Napi::Object>();
  umem_ = Umem::Unwrap(umemObject);
  umemRef_ = Napi::Persistent(umemObject);
  if (umem_->destroyed()) ThrowErrno(env, "xsk_socket__create(umem destroyed)", EBADF);

  const std::string ifname = opts.Get("ifname").As<Napi::String>().Utf8Value();
  const uint32_t queueId = opts.Get("queueId").As<Napi::Number>().Uint32Value();
  queueId_ = queueId;
  needWakeup_ = opts.Get("needWakeup").As<Napi::Boolean>().Value();

  xsk_socket_config config{};
  config.rx_size = opts.Get("rxSize").As<Napi::Number>().Uint32Value();
  config.tx_size = opts.Get("txSize").As<Napi::Number>().Uint32Value();
  // libxdp never loads its default program: it attaches it through netlink, where it
  // outlives a killed process. Standalone sockets get ours (AttachRedirect) instead.
  config.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;
  config.bind_flags = opts.Get("zeroCopy").As<Napi::Boolean>().Value() ? XDP_ZEROCOPY : XDP_COPY;
  if (needWakeup_) config.bind_flags |= XDP_USE_NEED_WAKEUP;

  int err;
  const bool primary = umem_->claimPrimaryRings(&fill_, &comp_, &err);
  if (err) ThrowErrno(env, "xsk_umem__create(renew)", err);
  if (primary) {
    primary_ = true;
    err = xsk_socket__create(&xsk_, ifname.c_str(), queueId, umem_->handle(), &rx_, &tx_, &config);
  } else {
    // Further sockets bring their own fill/completion rings (one pair per queue).
    fill_ = &ownFill_;
    comp_ = &ownComp_;
    err = xsk_socket__create_shared(&xsk_, ifname.c_str(), queueId, umem_->handle(), &rx_, &tx_,
                                    fill_, comp_, &config);
  }
  if (err) {
    xsk_ = nullptr;
    ThrowErrno(env, "xsk_socket__create", err);
  }
  fd_ = xsk_socket__fd(xsk_);
  umem_->socketOpened(fd_);

  // Frames are lent before the socket joins the redirect map: a packet redirected to a
  // socket with an empty fill ring is dropped (rx_dropped, rx_fill_ring_empty_descs),
  // which happened to a stray packet in the gap. A failed attach returns them (Teardown).
  FillInitial(opts.Get("rxFrames").As<Napi::Number>().Uint32Value());
  const uint32_t busyPollUsecs = opts.Get("busyPollUsecs").As<Napi::Number>().Uint32Value();
  try {
    if (!opts.Get("inhibitProgramLoad").As<Napi::Boolean>().Value())
      AttachRedirect(env, ifname, opts.Get("xskMapEntries").As<Napi::Number>().Uint32Value());
    if (busyPollUsecs > 0)
      ConfigureBusyPoll(env, busyPollUsecs, opts.Get("busyPollBudget").As<Napi::Number>().Uint32Value());
  } catch (...) {
    Teardown();
    throw;
  }
}

Socket::~Socket() { Teardown(); }

// Puts the bound socket into its interface's redirect program (attached through a
// bpf_link on first use, shared by the interface's other sockets).
void Socket::AttachRedirect(Napi::Env env, const std::string& ifname, uint32_t entries) {
  const int ifindex = int(if_nametoindex(ifname.c_str()));
  if (ifindex == 0) ThrowErrno(env, "if_nametoindex", errno);
  RedirectError failure;
  std::shared_ptr<XskRedirect> redirect = XskRedirect::Acquire(ifindex, entries, &failure);
  if (!redirect) {
    Napi::Error error = ErrnoError(env, failure.operation.c_str(), failure.err);
    if (failure.attachedProgramId) {
      error.Set("attachedProgramId", Napi::Number::New(env, failure.attachedProgramId));
      error.Set("attachedProgramName", Napi::String::New(env, failure.attachedProgramName));
      error.Set("attachedThrough", Napi::String::New(env, failure.attachedThrough));
      error.Set("attachedMode", Napi::String::New(env, failure.attachedMode));
    }
    throw error;
  }
  if (int err = redirect->Insert(queueId_, fd_)) ThrowErrno(env, "bpf_map_update_elem(XSKMAP)", err);
  redirect_ = std::move(redirect);
}

void Socket::ConfigureBusyPoll(Napi::Env env, uint32_t usecs, uint32_t budget) {
  int one = 1;
  int us = int(usecs);
  int b = int(budget);
  if (setsockopt(fd_, SOL_SOCKET, SO_PREFER_BUSY_POLL, &one, sizeof(one)))
    ThrowErrno(env, "setsockopt(SO_PREFER_BUSY_POLL)", errno);
  if (setsockopt(fd_, SOL_SOCKET, SO_BUSY_POLL, &us, sizeof(us)))
    ThrowErrno(env, "setsockopt(SO_BUSY_POLL)", errno);
  if (setsockopt(fd_, SOL_SOCKET, SO_BUSY_POLL_BUDGET, &b, sizeof(b)))
    ThrowErrno(env, "setsockopt(SO_BUSY_POLL_BUDGET)", errno);
  busyPoll_ = true;
}

// Lends `frames` free UMEM frames to the kernel through this socket's fill ring.
void Socket::FillInitial(uint32_t frames) {
  frames = std::min<uint32_t>(frames, uint32_t(umem_->freeFrames()));
  uint32_t idx = 0;
  if (frames == 0 || xsk_ring_prod__reserve(fill_, frames, &idx) != frames) return;
  rxPartition_.reserve(frames);
  for (uint32_t i = 0; i < frames; i++) {
    uint64_t addr = 0;
    umem_->popFrame(&addr);
    *xsk_ring_prod__fill_addr(fill_, idx + i) = addr;
    rxPartition_.push_back(addr);
  }
  xsk_ring_prod__submit(fill_, frames);
}

void Socket::EnsureOpen(Napi::Env env, const char* operation) const {
  if (!xsk_) ThrowErrno(env, operation, EBADF);
}

Napi::Value Socket::Fd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }

// The kernel's view of the binding, not what was asked for.
Napi::Value Socket::ZeroCopy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureOpen(env, "getsockopt(XDP_OPTIONS)");
  xdp_options options{};
  socklen_t len = sizeof(options);
  if (getsockopt(fd_, SOL_XDP, XDP_OPTIONS, &options, &len)) ThrowErrno(env, "getsockopt(XDP_OPTIONS)", errno);
  return Napi::Boolean::New(env, (options.flags & XDP_OPTIONS_ZEROCOPY) != 0);
}

Napi::Value Socket::Statistics(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureOpen(env, "getsockopt(XDP_STATISTICS)");
  xdp_statistics stats{};
  socklen_t len = sizeof(stats);
  if (getsockopt(fd_, SOL_XDP, XDP_STATISTICS, &stats, &len)) ThrowErrno(env, "getsockopt(XDP_STATISTICS)", errno);
  ReapCompletions();
  auto num = [&](uint64_t v) { return Napi::Number::New(env, double(v)); };
  Napi::Object kernel = Napi::Object::New(env);
  kernel.Set("rxDropped", num(stats.rx_dropped));
  kernel.Set("rxInvalidDescs", num(stats.rx_invalid_descs));
  kernel.Set("txInvalidDescs", num(stats.tx_invalid_descs));
  kernel.Set("rxRingFull", num(stats.rx_ring_full));
  kernel.Set("rxFillRingEmptyDescs", num(stats.rx_fill_ring_empty_descs));
  kernel.Set("txRingEmptyDescs", num(stats.tx_ring_empty_descs));
  Napi::Object own = Napi::Object::New(env);
  own.Set("rxPackets", num(counters_.rxPackets));
  own.Set("rxBytes", num(counters_.rxBytes));
  own.Set("rxBatches", num(counters_.rxBatches));
  own.Set("txPackets", num(counters_.txPackets));
  own.Set("txBytes", num(counters_.txBytes));
  own.Set("txBatches", num(counters_.txBatches));
  own.Set("txCompleted", num(counters_.txCompleted));
  own.Set("txRingFullDrops", num(counters_.txRingFullDrops));
  own.Set("fillRingRefills", num(counters_.fillRingRefills));
  own.Set("wakeups", num(counters_.wakeups));
  own.Set("transientKickErrors", num(counters_.transientKickErrors));
  own.Set("txOutstanding", num(outstandingTx_));
  own.Set("umemFreeFrames", num(umem_->freeFrames()));
  Napi::Object result = Napi::Object::New(env);
  result.Set("kernel", kernel);
  result.Set("socket", own);
  return result;
}

// For callers whose own XDP program owns the XSKMAP (inhibitProgramLoad).
Napi::Value Socket::UpdateXskMap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureOpen(env, "updateXskMap");
  const int mapFd = info[0].As<Napi::Number>().Int32Value();
  // libxdp writes (queue id -> socket fd) into whatever map it is given: a hash or array
  // of u32 values would take it silently, and never redirect a packet here.
  bpf_map_info mapInfo{};
  uint32_t infoLength = sizeof mapInfo;
  if (bpf_obj_get_info_by_fd(mapFd, &mapInfo, &infoLength) == 0 && mapInfo.type != BPF_MAP_TYPE_XSKMAP)
    ThrowErrno(env, "xsk_socket__update_xskmap(not an XSKMAP)", EINVAL);
  int err = xsk_socket__update_xskmap(xsk_, mapFd);
  if (err) ThrowErrno(env, "xsk_socket__update_xskmap", err);
  return env.Undefined();
}

void Socket::Close(const Napi::CallbackInfo& info) { Teardown(); }

// Safe with frames in flight: the kernel stops touching the rings once the socket's
// file is released; idle frames of this socket's RX share and frames reserved by
// allocTx go back to the UMEM, frames the user still holds (an unreleased RX batch)
// or that were mid-TX stay out of circulation.
void Socket::Teardown() {
  if (!xsk_) return;
  ClosePoll();
  ReapCompletions();
  ReturnReservedTx(0);
  if (redirect_) {
    // From here the queue's packets go to the kernel stack; the program itself leaves
    // the interface with the last socket (or process) holding its link.
    redirect_->Remove(queueId_);
    redirect_.reset();
  }
  xsk_socket__delete(xsk_);
  xsk_ = nullptr;
  // Releases the kernel socket also when it was bound on the UMEM's own fd (umem.h),
  // which takes it out of every XSKMAP (a caller's too).
  const bool released = umem_->socketClosed(fd_) == 0;
  fd_ = -1;
  std::vector<uint64_t> held(rxFrames_.begin(), rxFrames_.begin() + heldRx_);
  std::sort(held.begin(), held.end());
  // Not released (dup2 failed): the kernel may still fill these frames, so they stay lent.
  if (released) {
    for (uint64_t addr : rxPartition_)
      if (!std::binary_search(held.begin(), held.end(), addr)) umem_->pushFrame(addr);
  }
  rxPartition_.clear();
  heldRx_ = 0;
}

}  // namespace stoq
