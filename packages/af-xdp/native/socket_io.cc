// SPDX-License-Identifier: Apache-2.0
// Batched ring work. The batch arrays live in memory this socket allocates and
// shares with JS; afterwards each call passes only a count, and results land in
// those arrays: no per-packet allocation.
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "errno_error.h"
#include "socket.h"

namespace stoq {

namespace {

void ReleaseBatchMemory(Napi::Env, void*, std::shared_ptr<uint32_t[]>* hint) { delete hint; }

}  // namespace

// createBatchArrays(capacity) -> ArrayBuffer holding rxOffsets, rxLengths, txOffsets,
// txLengths (capacity Uint32 each, in that order). postMessage and structuredClone
// copy an external ArrayBuffer instead of transferring it; ArrayBuffer.prototype.
// transfer() (Node >= 22) can still detach the JS side, which socket.ts refuses. The
// memory is shared: it is freed when both this socket and the buffer are gone, so the
// ring calls never write into memory JS has given away.
Napi::Value Socket::CreateBatchArrays(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t capacity = info[0].As<Napi::Number>().Uint32Value();
  if (capacity == 0 || batchMemory_) ThrowErrno(env, "createBatchArrays", EINVAL);
  batchMemory_ = std::shared_ptr<uint32_t[]>(new uint32_t[size_t(capacity) * 4]());
  uint32_t* base = batchMemory_.get();
  rxOffsets_ = base;
  rxLengths_ = base + capacity;
  txOffsets_ = base + size_t(capacity) * 2;
  txLengths_ = base + size_t(capacity) * 3;
  rxCapacity_ = txCapacity_ = capacity;
  rxFrames_.resize(capacity);
  txFrames_.resize(capacity);
  // Aligned descriptors carry frame + offset; unaligned ones the frame start we lent.
  frameMask_ = umem_->staggered() ? ~uint64_t(0) : ~uint64_t(umem_->frameSize() - 1);
  prefetchAhead_ = HeadsPrefetchedAhead(umem_->staggered(), rxCapacity_);
  return Napi::ArrayBuffer::New(env, base, size_t(capacity) * 4 * sizeof(uint32_t), ReleaseBatchMemory,
                                new std::shared_ptr<uint32_t[]>(batchMemory_));
}

// receive(max, releaseHeld) -> count. Descriptors are consumed from the RX ring at
// once (the kernel may reuse the slots); the frames stay ours until releaseRx, or
// until the next receive with releaseHeld (one call into native code per batch).
Napi::Value Socket::Receive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureOpen(env, "receive");
  if (heldRx_ != 0) {
    if (!info[1].ToBoolean().Value()) ThrowErrno(env, "receive(previous batch not released)", EBUSY);
    ReturnHeldToFill();
  }
  const uint32_t max = std::min(info[0].As<Napi::Number>().Uint32Value(), rxCapacity_);
  uint32_t idx = 0;
  uint32_t n = xsk_ring_cons__peek(&rx_, max, &idx);
  if (n == 0) {
    // Copy mode needs no kick to receive, but a zero-copy driver with need_wakeup
    // (or busy polling) only makes progress when we enter the kernel.
    if (busyPoll_ || (needWakeup_ && xsk_ring_prod__needs_wakeup(fill_))) {
      counters_.wakeups++;
      recvfrom(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
    }
    return Napi::Number::New(env, 0);
  }
  const uint8_t* area = umem_->area();
  const uint64_t bytes = TakeDescriptors(area, idx, n);
  if (prefetchAhead_ != 0) PrefetchAhead(area, idx + n);
  xsk_ring_cons__release(&rx_, n);
  heldRx_ = n;
  counters_.rxPackets += n;
  counters_.rxBytes += bytes;
  counters_.rxBatches++;
  return Napi::Number::New(env, n);
}

// Copies n descriptors into the batch arrays and prefetches each packet's head (see
// head_warming.h); returns the batch's bytes.
uint64_t Socket::TakeDescriptors(const uint8_t* area, uint32_t idx, uint32_t n) {
  uint64_t bytes = 0;
  for (uint32_t i = 0; i < n; i++) {
    const xdp_desc* desc = xsk_ring_cons__rx_desc(&rx_, idx + i);
    const uint64_t addr = xsk_umem__add_offset_to_addr(desc->addr);
    rxOffsets_[i] = uint32_t(addr);
    rxLengths_[i] = desc->len;
    rxFrames_[i] = xsk_umem__extract_addr(desc->addr) & frameMask_;
    bytes += desc->len;
    __builtin_prefetch(area + addr);
  }
  return bytes;
}

// The caller reads each packet's head right after receive(), and on a cold UMEM that
// cache miss is most of the per-packet cost. Over an aligned UMEM, receive() prefetches
// the heads of up to two batches queued behind its own: the next receive() finds
// them in cache, and the misses overlap with the JS loop and the calls into native
// code instead of stalling them. Only descriptors the kernel has published are read;
// none is consumed. A head is prefetched again by each call whose window covers it: on
// the first bench host that drained faster than prefetching each head exactly once (~42 vs
// ~33 Mpps per CPU-second, batch 64; the likely cause is prefetches dropped while the
// miss queue is full). There, two batches ahead was best at both batch sizes tried: at 64,
// 128 ahead beat 64 and 192-256 were no better; at 256, 512 ahead drained 39-42 Mpps
// against 34-38 for 128, 256, 768, 1024 or 2048.
void Socket::PrefetchAhead(const uint8_t* area, uint32_t from) {
  const uint32_t ahead = xsk_cons_nb_avail(&rx_, prefetchAhead_);
  for (uint32_t i = 0; i < ahead; i++) {
    __builtin_prefetch(area + xsk_umem__add_offset_to_addr(xsk_ring_cons__rx_desc(&rx_, from + i)->addr));
  }
}

// The held batch's frames go back to the fill ring in one submit.
void Socket::ReturnHeldToFill() {
  const uint32_t count = heldRx_;
  heldRx_ = 0;
  uint32_t idx = 0;
  // Cannot fail: the fill ring is at least as large as this socket's RX share.
  if (xsk_ring_prod__reserve(fill_, count, &idx) != count) {
    for (uint32_t i = 0; i < count; i++) umem_->pushFrame(rxFrames_[i]);
    return;
  }
  for (uint32_t i = 0; i < count; i++) *xsk_ring_prod__fill_addr(fill_, idx + i) = rxFrames_[i];
  xsk_ring_prod__submit(fill_, count);
  counters_.fillRingRefills++;
}

// releaseRx(): the whole last batch goes back to the fill ring in one submit.
void Socket::ReleaseRx(const Napi::CallbackInfo& info) {
  EnsureOpen(info.Env(), "release");
  if (heldRx_ == 0) return;
  ReturnHeldToFill();
}

uint32_t Socket::ReapCompletions() {
  if (!xsk_ || outstandingTx_ == 0) return 0;
  uint32_t idx = 0;
  uint32_t n = xsk_ring_cons__peek(comp_, outstandingTx_, &idx);
  for (uint32_t i = 0; i < n; i++) umem_->pushFrame(*xsk_ring_cons__comp_addr(comp_, idx + i));
  if (n) xsk_ring_cons__release(comp_, n);
  outstandingTx_ -= n;
  counters_.txCompleted += n;
  return n;
}

// reap() -> completed count; kicks again while frames are still queued, so a
// transiently refused kick (EAGAIN/ENOBUFS) does not strand them.
Napi::Value Socket::Reap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureOpen(env, "reap");
  const uint32_t completed = ReapCompletions();
  if (outstandingTx_ > 0) Kick(env);
  return Napi::Number::New(env, completed);
}

// allocTx(max) -> count of free frames written to txOffsets (capped by free TX slots,
// so submitting them right away always fits). Frames of a previous batch that was
// neither submitted nor cancelled go back to the UMEM first: the batch arrays are
// reused, so that batch is gone for the caller anyway.
Napi::Value Socket::AllocTx(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureOpen(env, "allocTx");
  ReturnReservedTx(0);
  ReapCompletions();
  uint32_t max = std::min(info[0].As<Napi::Number>().Uint32Value(), txCapacity_);
  max = std::min(max, xsk_prod_nb_free(&tx_, max));
  uint32_t n = 0;
  for (uint64_t addr = 0; n < max && umem_->popFrame(&addr); n++) {
    txFrames_[n] = addr;
    txOffsets_[n] = uint32_t(addr);
    txLengths_[n] = 0;
  }
  txReserved_ = n;
  return Napi::Number::New(env, n);
}

// Reserved frames from index `from` on go back to the UMEM.
void Socket::ReturnReservedTx(uint32_t from) {
  for (uint32_t i = from; i < txReserved_; i++) umem_->pushFrame(txFrames_[i]);
  txReserved_ = 0;
}

// cancelTx(): the reserved frames go back to the UMEM.
void Socket::CancelTx(const Napi::CallbackInfo& info) { ReturnReservedTx(0); }

// submitTx(count) -> accepted. The first `count` reserved frames go on the TX ring;
// those beyond its free slots (txRingFullDrops) and the rest of the reservation go
// back to the UMEM. The offsets must still be the ones allocTx gave.
Napi::Value Socket::SubmitTx(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureOpen(env, "submitTx");
  const uint32_t count = std::min(info[0].As<Napi::Number>().Uint32Value(), txReserved_);
  const uint32_t frameSize = umem_->frameSize();
  for (uint32_t i = 0; i < count; i++) {
    if (txOffsets_[i] != txFrames_[i]) ThrowErrno(env, "submitTx(frame offset changed since allocTx)", EINVAL);
    if (txLengths_[i] == 0 || txLengths_[i] > frameSize) ThrowErrno(env, "submitTx(frame length outside its frame)", EINVAL);
  }
  uint32_t idx = 0;
  uint32_t n = std::min(count, xsk_prod_nb_free(&tx_, count));
  // Cannot fail after nb_free; if it did, every frame goes back rather than leaking.
  if (n > 0 && xsk_ring_prod__reserve(&tx_, n, &idx) != n) n = 0;
  if (n > 0) {
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < n; i++) {
      xdp_desc* desc = xsk_ring_prod__tx_desc(&tx_, idx + i);
      desc->addr = txFrames_[i];
      desc->len = txLengths_[i];
      desc->options = 0;
      bytes += txLengths_[i];
    }
    xsk_ring_prod__submit(&tx_, n);
    outstandingTx_ += n;
    counters_.txPackets += n;
    counters_.txBytes += bytes;
    counters_.txBatches++;
  }
  counters_.txRingFullDrops += count - n;
  ReturnReservedTx(n);
  if (n > 0) {
    try {
      Kick(env);
    } catch (Napi::Error& error) {
      // The frames are on the ring already (and the reservation is gone): say so.
      error.Set("queued", Napi::Number::New(env, n));
      throw;
    }
  }
  return Napi::Number::New(env, n);
}

// Copy mode transmits only inside sendto(); zero-copy drivers only when they ask.
// In copy mode one sendto() transmits at most the kernel's TX batch (32 frames) and
// answers EAGAIN while descriptors remain, so kick until the ring is drained; the
// bound (one kick per 32 slots, plus slack) keeps a busy device from spinning us.
void Socket::Kick(Napi::Env env) {
  if (needWakeup_ && !xsk_ring_prod__needs_wakeup(&tx_)) return;
  int err = 0;
  for (uint32_t kicks = txCapacity_ / 32 + 2; kicks > 0; kicks--) {
    counters_.wakeups++;
    if (sendto(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, 0) >= 0) return;
    err = errno;
    if (err != EAGAIN) break;
  }
  // Ring busy or device backpressure: the descriptors stay queued for the next kick.
  if (err == EAGAIN || err == EBUSY || err == ENOBUFS || err == ENETDOWN) {
    counters_.transientKickErrors++;
    return;
  }
  ThrowErrno(env, "sendto(tx kick)", err);
}

}  // namespace stoq
