// SPDX-License-Identifier: Apache-2.0
// Standalone sockets' redirect program, attached through a bpf_link (see xsk_redirect.h).
#include "xsk_redirect.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <map>
#include <mutex>

namespace stoq {

namespace {

// Program and map name: what `bpftool prog`/`bpftool map` show, and how a second
// process recognises the first one's program as joinable.
constexpr char kName[] = "stoq_xsk_redir";
// Acquire() retries only lost races (another process attached or detached in between).
constexpr int kAttempts = 3;

std::mutex registryMutex;
std::map<int, std::weak_ptr<XskRedirect>> registry;  // ifindex → this process's redirect

struct Attached {
  uint32_t id = 0;
  bool native = false;
};

// What is attached to the interface now (native first, then generic); id 0 = nothing.
Attached AttachedProgram(int ifindex) {
  LIBBPF_OPTS(bpf_xdp_query_opts, opts);
  if (bpf_xdp_query(ifindex, 0, &opts) < 0) return {};
  if (opts.drv_prog_id) return {opts.drv_prog_id, true};
  return {opts.skb_prog_id ? opts.skb_prog_id : opts.hw_prog_id, false};
}

// An fd on the XDP link that attaches program `progId`, or -1 (attached through netlink,
// or gone). Bounded by the number of links in the system.
int FindXdpLink(uint32_t progId) {
  uint32_t id = 0;
  while (bpf_link_get_next_id(id, &id) == 0) {
    const int fd = bpf_link_get_fd_by_id(id);
    if (fd < 0) continue;
    bpf_link_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.type == BPF_LINK_TYPE_XDP && info.prog_id == progId)
      return fd;
    close(fd);
  }
  return -1;
}

RedirectError Failure(const char* operation, int err) {
  RedirectError e;
  e.err = err;
  e.operation = operation;
  return e;
}

}  // namespace

std::shared_ptr<XskRedirect> XskRedirect::Acquire(int ifindex, uint32_t entries, RedirectError* error) {
  std::lock_guard<std::mutex> lock(registryMutex);
  for (int attempt = 0; attempt < kAttempts; attempt++) {
    const Attached attached = AttachedProgram(ifindex);
    auto known = registry.find(ifindex);
    if (known != registry.end()) {
      std::shared_ptr<XskRedirect> own = known->second.lock();
      if (own && attached.id != 0 && own->progId_ == attached.id) return own;
    }
    std::shared_ptr<XskRedirect> redirect = attached.id ? Join(ifindex, attached.id, error) : Attach(ifindex, entries, error);
    if (redirect) {
      registry[ifindex] = redirect;
      return redirect;
    }
    // Lost a race: someone attached first (EBUSY/EEXIST), or the program we wanted to
    // join went away with its last holder (ENOENT). Anything else is final.
    const bool raced = attached.id ? error->err == ENOENT : (error->err == EBUSY || error->err == EEXIST);
    if (!raced) return nullptr;
  }
  return nullptr;
}

// XSKMAP + `return bpf_redirect_map(&map, ctx->rx_queue_index, XDP_PASS)` (the fallback
// action in the flags needs kernel 5.3; XDP links need 5.9), attached in native mode.
std::shared_ptr<XskRedirect> XskRedirect::Attach(int ifindex, uint32_t entries, RedirectError* error) {
  const int mapFd = bpf_map_create(BPF_MAP_TYPE_XSKMAP, kName, sizeof(uint32_t), sizeof(int), entries, nullptr);
  if (mapFd < 0) {
    *error = Failure("bpf_map_create(XSKMAP)", errno);
    return nullptr;
  }
  const bpf_insn insns[] = {
      {BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, int16_t(offsetof(xdp_md, rx_queue_index)), 0},
      {BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, mapFd},
      {0, 0, 0, 0, 0},
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, XDP_PASS},
      {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_redirect_map},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  const int progFd = bpf_prog_load(BPF_PROG_TYPE_XDP, kName, "GPL", insns, sizeof(insns) / sizeof(insns[0]), nullptr);
  if (progFd < 0) {
    *error = Failure("bpf_prog_load(XDP)", errno);
    close(mapFd);
    return nullptr;
  }
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(progFd, &info, &len) < 0) {
    *error = Failure("bpf_obj_get_info_by_fd(prog)", errno);
    close(progFd);
    close(mapFd);
    return nullptr;
  }
  LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = XDP_FLAGS_DRV_MODE);
  const int linkFd = bpf_link_create(progFd, ifindex, BPF_XDP, &opts);
  const int err = errno;
  close(progFd);  // the link holds the program
  if (linkFd < 0) {
    *error = Failure("bpf_link_create(XDP)", err);
    close(mapFd);
    return nullptr;
  }
  return std::shared_ptr<XskRedirect>(new XskRedirect(linkFd, mapFd, info.id));
}

// Another process's redirect program on this interface: take our own fd on its link (it
// then stays attached while any holder lives) and on its XSKMAP. Anyone else's program
// is reported as EBUSY with what it is.
std::shared_ptr<XskRedirect> XskRedirect::Join(int ifindex, uint32_t progId, RedirectError* error) {
  const int progFd = bpf_prog_get_fd_by_id(progId);
  if (progFd < 0) {
    *error = Failure("bpf_prog_get_fd_by_id", errno);
    return nullptr;
  }
  uint32_t mapIds[2] = {};
  bpf_prog_info info{};
  info.nr_map_ids = 2;
  info.map_ids = reinterpret_cast<uintptr_t>(mapIds);
  uint32_t len = sizeof(info);
  const int infoErr = bpf_obj_get_info_by_fd(progFd, &info, &len) < 0 ? errno : 0;
  close(progFd);
  if (infoErr) {
    *error = Failure("bpf_obj_get_info_by_fd(prog)", infoErr);
    return nullptr;
  }
  const Attached attached = AttachedProgram(ifindex);
  const bool ours = std::strncmp(info.name, kName, sizeof(info.name)) == 0 && info.nr_map_ids == 1 && attached.native;
  const int linkFd = FindXdpLink(progId);
  int mapFd = -1;
  if (ours && linkFd >= 0) {
    mapFd = bpf_map_get_fd_by_id(mapIds[0]);
    bpf_map_info mapInfo{};
    uint32_t mapLen = sizeof(mapInfo);
    if (mapFd >= 0 && (bpf_obj_get_info_by_fd(mapFd, &mapInfo, &mapLen) < 0 || mapInfo.type != BPF_MAP_TYPE_XSKMAP)) {
      close(mapFd);
      mapFd = -1;
    }
  }
  if (mapFd < 0) {
    if (linkFd >= 0) close(linkFd);
    *error = Failure("bpf_link_create(XDP)", EBUSY);
    error->attachedProgramId = progId;
    error->attachedProgramName = std::string(info.name, strnlen(info.name, sizeof(info.name)));
    error->attachedThrough = linkFd >= 0 ? "bpf_link" : "netlink";
    error->attachedMode = attached.native ? "native" : "generic";
    return nullptr;
  }
  return std::shared_ptr<XskRedirect>(new XskRedirect(linkFd, mapFd, progId));
}

XskRedirect::~XskRedirect() {
  close(mapFd_);
  close(linkFd_);  // the last holder's close detaches the program
}

int XskRedirect::Insert(uint32_t queue, int xskFd) {
  return bpf_map_update_elem(mapFd_, &queue, &xskFd, BPF_ANY) < 0 ? errno : 0;
}

void XskRedirect::Remove(uint32_t queue) {
  bpf_map_delete_elem(mapFd_, &queue);  // also done by the kernel when the socket closes
}

}  // namespace stoq
