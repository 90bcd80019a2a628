// SPDX-License-Identifier: Apache-2.0
// probeZeroCopy(ifname, queueId) -> 0 or errno. Binds a throwaway socket with
// XDP_ZEROCOPY on a tiny UMEM, so 'auto' can choose a mode without spoiling the
// caller's UMEM (libxdp cannot retry a failed first bind on the same UMEM).
#include <sys/mman.h>
#include <xdp/xsk.h>

#include <cerrno>
#include <string>

#include "probe.h"

namespace stoq {

namespace {

constexpr uint32_t kProbeFrames = 64;
constexpr uint32_t kProbeFrameSize = 4096;

int Probe(const std::string& ifname, uint32_t queueId) {
  const size_t size = size_t(kProbeFrames) * kProbeFrameSize;
  void* area = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED) return errno;
  xsk_ring_prod fill{};
  xsk_ring_cons comp{}, rx{};
  xsk_umem_config umemConfig{kProbeFrames, kProbeFrames, kProbeFrameSize, 0, 0};
  xsk_umem* umem = nullptr;
  int err = xsk_umem__create(&umem, area, size, &fill, &comp, &umemConfig);
  if (!err) {
    xsk_socket_config config{};
    config.rx_size = kProbeFrames;
    config.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;
    config.bind_flags = XDP_ZEROCOPY;
    xsk_socket* xsk = nullptr;
    err = xsk_socket__create(&xsk, ifname.c_str(), queueId, umem, &rx, nullptr, &config);
    if (!err) xsk_socket__delete(xsk);
    xsk_umem__delete(umem);
  }
  munmap(area, size);
  return err < 0 ? -err : err;
}

}  // namespace

Napi::Value ProbeZeroCopy(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(),
                           Probe(info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::Number>().Uint32Value()));
}

}  // namespace stoq
