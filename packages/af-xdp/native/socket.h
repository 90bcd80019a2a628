// SPDX-License-Identifier: Apache-2.0
// One AF_XDP socket bound to (interface, queue) over a UMEM. Split by concern:
// socket.cc (lifecycle, mode, statistics), socket_io.cc (batched RX/TX ring work),
// socket_poll.cc (libuv readiness).
#pragma once

#include <napi.h>
#include <uv.h>
#include <xdp/xsk.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "head_warming.h"
#include "poll_handle.h"
#include "umem.h"
#include "xsk_redirect.h"

namespace stoq {

struct SocketCounters {
  uint64_t rxPackets = 0, rxBytes = 0, rxBatches = 0;
  uint64_t txPackets = 0, txBytes = 0, txBatches = 0, txCompleted = 0, txRingFullDrops = 0;
  uint64_t fillRingRefills = 0, wakeups = 0, transientKickErrors = 0;
};

class Socket : public Napi::ObjectWrap<Socket> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit Socket(const Napi::CallbackInfo& info);
  ~Socket() override;

 private:
  // socket.cc
  Napi::Value Fd(const Napi::CallbackInfo& info);
  Napi::Value ZeroCopy(const Napi::CallbackInfo& info);
  Napi::Value Statistics(const Napi::CallbackInfo& info);
  Napi::Value UpdateXskMap(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);
  void EnsureOpen(Napi::Env env, const char* operation) const;
  void ConfigureBusyPoll(Napi::Env env, uint32_t usecs, uint32_t budget);
  void AttachRedirect(Napi::Env env, const std::string& ifname, uint32_t entries);
  void FillInitial(uint32_t frames);
  void Teardown();

  // socket_io.cc
  Napi::Value CreateBatchArrays(const Napi::CallbackInfo& info);
  Napi::Value Receive(const Napi::CallbackInfo& info);
  void ReleaseRx(const Napi::CallbackInfo& info);
  Napi::Value AllocTx(const Napi::CallbackInfo& info);
  Napi::Value SubmitTx(const Napi::CallbackInfo& info);
  void CancelTx(const Napi::CallbackInfo& info);
  Napi::Value Reap(const Napi::CallbackInfo& info);
  uint32_t ReapCompletions();
  void Kick(Napi::Env env);
  void ReturnHeldToFill();
  void ReturnReservedTx(uint32_t from);
  uint64_t TakeDescriptors(const uint8_t* area, uint32_t idx, uint32_t n);
  void PrefetchAhead(const uint8_t* area, uint32_t from);

  // socket_poll.cc
  void StartPoll(const Napi::CallbackInfo& info);
  void StopPoll(const Napi::CallbackInfo& info);
  void SetRef(const Napi::CallbackInfo& info);
  static void OnPoll(uv_poll_t* handle, int status, int events);
  // Stops polling and closes the handle; `teardown`: from Node's environment teardown.
  void ClosePoll(napi_async_cleanup_hook_handle teardown = nullptr);
  static void OnPollTeardown(napi_async_cleanup_hook_handle hook, void* arg);

  Umem* umem_ = nullptr;
  Napi::ObjectReference umemRef_;
  xsk_socket* xsk_ = nullptr;
  int fd_ = -1;
  uint32_t queueId_ = 0;
  std::shared_ptr<XskRedirect> redirect_;  // standalone sockets only (no inhibitProgramLoad)
  bool primary_ = false;
  bool needWakeup_ = false;
  bool busyPoll_ = false;
  xsk_ring_cons rx_{};
  xsk_ring_prod tx_{};
  xsk_ring_prod ownFill_{};
  xsk_ring_cons ownComp_{};
  xsk_ring_prod* fill_ = nullptr;
  xsk_ring_cons* comp_ = nullptr;
  uint32_t outstandingTx_ = 0;
  std::vector<uint64_t> rxPartition_;  // frames this socket lent to the kernel's fill ring

  // Batch arrays, shared with JS (socket_io.cc), so the hot path passes only counts.
  std::shared_ptr<uint32_t[]> batchMemory_;
  uint32_t* rxOffsets_ = nullptr;
  uint32_t* rxLengths_ = nullptr;
  uint32_t* txOffsets_ = nullptr;
  uint32_t* txLengths_ = nullptr;
  uint32_t rxCapacity_ = 0, txCapacity_ = 0;
  uint32_t heldRx_ = 0;  // frames of the last RX batch the user has not released yet
  // The held batch's frames, kept here rather than read back
  // from rxOffsets_ (JS can write to that array; the fill ring must not trust it).
  std::vector<uint64_t> rxFrames_;  // frame starts
  uint64_t frameMask_ = ~uint64_t(0);
  // Frames the last allocTx reserved and no submitTx or cancelTx has taken yet; like
  // rxFrames_, the record that counts (txOffsets_ is JS-writable).
  std::vector<uint64_t> txFrames_;
  uint32_t txReserved_ = 0;
  uint32_t prefetchAhead_ = 0;  // heads prefetched beyond the returned batch (socket_io.cc)

  FdPoll poll_;
  bool pollRef_ = true;
  Napi::FunctionReference onReadable_;
  std::unique_ptr<Napi::AsyncContext> readableContext_;  // created once, on the first startPoll

  SocketCounters counters_;
};

}  // namespace stoq
