// SPDX-License-Identifier: Apache-2.0
// The capability probe's kernel-facing half: capability bits, whether bpf() and
// AF_XDP sockets work for this process, and whether an interface takes an XDP
// program in native or generic mode (tried for real with a pass-through program).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/capability.h>
#include <linux/if_link.h>
#include <napi.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "args.h"
#include "error.h"
#include "export.h"
#include "log_capture.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif

namespace stoq {
namespace {

Napi::Object Outcome(Napi::Env env, int err) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("ok", err == 0);
  result.Set("errno", err);
  return result;
}

}  // namespace

// effectiveCapabilities() → BigInt bitmask (capget: no libcap needed)
Napi::Value EffectiveCapabilities(const Napi::CallbackInfo& info) {
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) < 0) throw ErrnoError(info.Env(), "capget", errno);
  uint64_t bits = (static_cast<uint64_t>(data[1].effective) << 32) | data[0].effective;
  return Napi::BigInt::New(info.Env(), bits);
}

// probeBpfSyscall() → { ok, errno }: can this process create a map?
Napi::Value ProbeBpfSyscall(const Napi::CallbackInfo& info) {
  LogCapture quiet;
  int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "stoq_probe", 4, 4, 1, nullptr);
  int err = fd < 0 ? errno : 0;
  if (fd >= 0) close(fd);
  return Outcome(info.Env(), err);
}

// probeAfXdp() → { ok, errno }
Napi::Value ProbeAfXdp(const Napi::CallbackInfo& info) {
  int fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
  int err = fd < 0 ? errno : 0;
  if (fd >= 0) close(fd);
  return Outcome(info.Env(), err);
}

// probeXdpMode(ifindex, flags) → { ok, errno }: attach XDP_PASS via bpf_link, detach.
Napi::Value ProbeXdpMode(const Napi::CallbackInfo& info) {
  int ifindex = IntArg(info, 0, "probeXdp", "ifindex");
  int flags = IntArg(info, 1, "probeXdp", "flags");
  LogCapture quiet;
  const struct bpf_insn pass[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_PASS},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  int prog = bpf_prog_load(BPF_PROG_TYPE_XDP, "stoq_probe", "GPL", pass, 2, nullptr);
  if (prog < 0) return Outcome(info.Env(), errno);
  LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = static_cast<__u32>(flags));
  int link = bpf_link_create(prog, ifindex, BPF_XDP, &opts);
  int err = link < 0 ? errno : 0;
  if (link >= 0) close(link);
  close(prog);
  return Outcome(info.Env(), err);
}

// mountBpffs(path): used where `ip netns exec` gave us a fresh /sys without bpffs.
Napi::Value MountBpffs(const Napi::CallbackInfo& info) {
  if (!info[0].IsString()) ThrowInvalid(info.Env(), "mountBpffs", "path must be a string");
  std::string path = info[0].As<Napi::String>();
  if (mount("bpf", path.c_str(), "bpf", 0, "mode=0700") < 0) throw ErrnoError(info.Env(), "mountBpffs", errno, path);
  return info.Env().Undefined();
}

void RegisterProbe(Napi::Env env, Napi::Object exports) {
  Export<EffectiveCapabilities>(env, exports, "effectiveCapabilities");
  Export<ProbeBpfSyscall>(env, exports, "probeBpfSyscall");
  Export<ProbeAfXdp>(env, exports, "probeAfXdp");
  Export<ProbeXdpMode>(env, exports, "probeXdpMode");
  Export<MountBpffs>(env, exports, "mountBpffs");
}

}  // namespace stoq
