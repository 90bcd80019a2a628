// SPDX-License-Identifier: Apache-2.0
// Program operations on fds: BPF_PROG_TEST_RUN, XDP attach through bpf_link, and
// the ids the kernel knows programs by.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <napi.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "args.h"
#include "error.h"
#include "export.h"
#include "log_capture.h"

namespace stoq {

// Same bound as MAX_TEST_RUN_BYTES in program.ts: far above any frame the kernel
// test-runs, low enough that the output buffer is never a large allocation.
constexpr uint32_t kMaxTestRunBytes = 16 << 20;
constexpr uint32_t kMaxContextBytes = 4096;

// testRun(progFd, data, repeat, dataSizeOut, ctxIn | undefined) → { retval, data, durationNs }
Napi::Value TestRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = IntArg(info, 0, "testRun", "fd");
  auto data = BufferArg(info, 1, "testRun", "data");
  if (data.Length() > kMaxTestRunBytes) ThrowInvalid(env, "testRun", "data is larger than " + std::to_string(kMaxTestRunBytes) + " bytes");
  int repeat = static_cast<int>(SizeArg(info, 2, "testRun", "repeat", 0, INT32_MAX));
  uint32_t outSize = SizeArg(info, 3, "testRun", "dataSizeOut", 1, kMaxTestRunBytes);
  std::vector<uint8_t> out(outSize);
  std::vector<uint8_t> ctx;
  if (info[4].IsBuffer()) {
    auto c = info[4].As<Napi::Buffer<uint8_t>>();
    if (c.Length() > kMaxContextBytes) ThrowInvalid(env, "testRun", "ctxIn is larger than " + std::to_string(kMaxContextBytes) + " bytes");
    ctx.assign(c.Data(), c.Data() + c.Length());
  }
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data.Data(), .data_out = out.data(),
              .data_size_in = static_cast<__u32>(data.Length()), .data_size_out = static_cast<__u32>(out.size()),
              .ctx_in = ctx.empty() ? nullptr : ctx.data(), .ctx_size_in = static_cast<__u32>(ctx.size()),
              .repeat = repeat);
  int rc = bpf_prog_test_run_opts(fd, &opts);
  if (rc < 0) throw ErrnoError(env, "testRun", errno);
  Napi::Object result = Napi::Object::New(env);
  result.Set("retval", opts.retval);
  result.Set("data", Napi::Buffer<uint8_t>::Copy(env, out.data(), opts.data_size_out));
  result.Set("durationNs", opts.duration);
  return result;
}

// xdpLinkCreate(progFd, ifindex, flags) → link fd. The link lives as long as its fd:
// closing it (or the process dying) detaches the program.
Napi::Value XdpLinkCreate(const Napi::CallbackInfo& info) {
  int progFd = IntArg(info, 0, "attachXdp", "fd");
  int ifindex = IntArg(info, 1, "attachXdp", "ifindex");
  int flags = IntArg(info, 2, "attachXdp", "flags");
  LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = static_cast<__u32>(flags));
  int linkFd = bpf_link_create(progFd, ifindex, BPF_XDP, &opts);
  if (linkFd < 0) throw ErrnoError(info.Env(), "attachXdp", errno);
  return Napi::Number::New(info.Env(), linkFd);
}

Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  int fd = IntArg(info, 0, "close", "fd");
  if (close(fd) < 0) throw ErrnoError(info.Env(), "close", errno);
  return info.Env().Undefined();
}

Napi::Value ProgramId(const Napi::CallbackInfo& info) {
  int fd = IntArg(info, 0, "programInfo", "fd");
  struct bpf_prog_info prog = {};
  __u32 len = sizeof(prog);
  if (bpf_obj_get_info_by_fd(fd, &prog, &len) < 0) throw ErrnoError(info.Env(), "programInfo", errno);
  return Napi::Number::New(info.Env(), prog.id);
}

// xdpQuery(ifindex) → { driverProgId, skbProgId, attachMode }: what already sits on the interface.
Napi::Value XdpQuery(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int ifindex = IntArg(info, 0, "xdpQuery", "ifindex");
  LIBBPF_OPTS(bpf_xdp_query_opts, opts);
  if (bpf_xdp_query(ifindex, 0, &opts) < 0) throw ErrnoError(env, "xdpQuery", errno);
  Napi::Object result = Napi::Object::New(env);
  result.Set("driverProgId", opts.drv_prog_id);
  result.Set("skbProgId", opts.skb_prog_id);
  result.Set("attachMode", opts.attach_mode);
  return result;
}

void RegisterProgram(Napi::Env env, Napi::Object exports) {
  Export<TestRun>(env, exports, "testRun");
  Export<XdpLinkCreate>(env, exports, "xdpLinkCreate");
  Export<CloseFd>(env, exports, "closeFd");
  Export<ProgramId>(env, exports, "programId");
  Export<XdpQuery>(env, exports, "xdpQuery");
}

}  // namespace stoq
