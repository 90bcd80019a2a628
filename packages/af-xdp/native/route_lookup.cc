// SPDX-License-Identifier: Apache-2.0
// One request per lookup on a short-lived NETLINK_ROUTE socket: RTM_GETROUTE and the
// single-entry RTM_GETNEIGH (Linux >= 4.20) are answered from the kernel's tables
// inside recv(), never after network I/O, so a synchronous call is cheap (microseconds).
// A receive timeout still bounds each call. No privilege is needed for these; the
// RTM_NEWNEIGH of NeighbourUse6 needs CAP_NET_ADMIN (it only starts the kernel's own
// neighbour discovery, which runs after the ACK).
#include "route_lookup.h"

#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "errno_error.h"

namespace stoq {

namespace {

constexpr uint32_t kSeq = 1;
constexpr int kMaxReads = 16;

struct Request {
  nlmsghdr header;
  union {
    rtmsg route;
    ndmsg neighbour;
  } body;
  char attributes[64];
};

void StartRequest(Request* request, uint16_t type, size_t bodySize) {
  request->header.nlmsg_len = NLMSG_LENGTH(bodySize);
  request->header.nlmsg_type = type;
  request->header.nlmsg_flags = NLM_F_REQUEST;
  request->header.nlmsg_seq = kSeq;
}

void AddAttribute(nlmsghdr* header, uint16_t type, const void* data, uint16_t length) {
  auto* attribute = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(header) + NLMSG_ALIGN(header->nlmsg_len));
  attribute->rta_type = type;
  attribute->rta_len = RTA_LENGTH(length);
  memcpy(RTA_DATA(attribute), data, length);
  header->nlmsg_len = NLMSG_ALIGN(header->nlmsg_len) + RTA_ALIGN(attribute->rta_len);
}

// Sends `request` to the kernel and copies its answer into `reply`: 0, or an errno
// (the kernel's NLMSG_ERROR, or the socket's own failure; ETIMEDOUT after 1 s).
int Transact(nlmsghdr* request, char* reply, size_t replySize, nlmsghdr** answer) {
  const int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return errno;
  timeval timeout{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  int err = 0;
  if (sendto(fd, request, request->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
    err = errno;
  } else {
    err = ETIMEDOUT;
    for (int reads = 0; reads < kMaxReads && err == ETIMEDOUT; reads++) {
      ssize_t n = recv(fd, reply, replySize, 0);
      if (n < 0) {
        err = errno == EAGAIN ? ETIMEDOUT : errno;
        break;
      }
      for (auto* h = reinterpret_cast<nlmsghdr*>(reply); NLMSG_OK(h, size_t(n)); h = NLMSG_NEXT(h, n)) {
        if (h->nlmsg_seq != kSeq) continue;
        if (h->nlmsg_type == NLMSG_ERROR) {
          const int code = -static_cast<nlmsgerr*>(NLMSG_DATA(h))->error;
          err = code != 0 ? code : ENODATA;  // a bare ACK carries no answer
        } else {
          *answer = h;
          err = 0;
        }
        break;
      }
    }
  }
  close(fd);
  return err;
}

const uint8_t* Ipv6Argument(const Napi::CallbackInfo& info, size_t index) {
  Napi::Uint8Array bytes = info[index].As<Napi::Uint8Array>();
  if (bytes.ByteLength() != 16) ThrowErrno(info.Env(), "rtnetlink(address must be 16 bytes)", EINVAL);
  return bytes.Data();
}

Napi::Value BytesOrNull(Napi::Env env, const void* data, size_t length) {
  if (!data) return env.Null();
  Napi::Uint8Array bytes = Napi::Uint8Array::New(env, length);
  memcpy(bytes.Data(), data, length);
  return bytes;
}

}  // namespace

Napi::Value RouteGet6(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint8_t* dst = Ipv6Argument(info, 0);
  const uint32_t oif = info[1].As<Napi::Number>().Uint32Value();
  const uint8_t* src = info.Length() > 2 && !info[2].IsNull() && !info[2].IsUndefined() ? Ipv6Argument(info, 2) : nullptr;
  Request request{};
  StartRequest(&request, RTM_GETROUTE, sizeof(rtmsg));
  request.body.route.rtm_family = AF_INET6;
  request.body.route.rtm_dst_len = 128;
  AddAttribute(&request.header, RTA_DST, dst, 16);
  // As `ip -6 route get DST from SRC`: the source selects `ip rule from SRC` policy routes.
  if (src) {
    request.body.route.rtm_src_len = 128;
    AddAttribute(&request.header, RTA_SRC, src, 16);
  }
  if (oif != 0) AddAttribute(&request.header, RTA_OIF, &oif, sizeof oif);

  alignas(nlmsghdr) char reply[8192];
  nlmsghdr* answer = nullptr;
  if (int err = Transact(&request.header, reply, sizeof reply, &answer)) ThrowErrno(env, "rtnetlink RTM_GETROUTE", err);
  if (answer->nlmsg_type != RTM_NEWROUTE) ThrowErrno(env, "rtnetlink RTM_GETROUTE(unexpected answer)", EPROTO);

  auto* route = static_cast<rtmsg*>(NLMSG_DATA(answer));
  uint32_t ifindex = 0;
  const void* gateway = nullptr;
  const void* prefsrc = nullptr;
  uint32_t mtu = 0;
  int length = RTM_PAYLOAD(answer);
  for (auto* a = RTM_RTA(route); RTA_OK(a, length); a = RTA_NEXT(a, length)) {
    if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) >= 4) memcpy(&ifindex, RTA_DATA(a), 4);
    if (a->rta_type == RTA_GATEWAY && RTA_PAYLOAD(a) == 16) gateway = RTA_DATA(a);
    if (a->rta_type == RTA_PREFSRC && RTA_PAYLOAD(a) == 16) prefsrc = RTA_DATA(a);
    // Nested RTAX_* metrics: the route's `mtu` or a cached PMTU exception (Packet Too
    // Big). Absent when neither is set: the interface MTU applies.
    if (a->rta_type == RTA_METRICS) {
      int metricsLength = int(RTA_PAYLOAD(a));
      for (auto* m = static_cast<rtattr*>(RTA_DATA(a)); RTA_OK(m, metricsLength); m = RTA_NEXT(m, metricsLength)) {
        if (m->rta_type == RTAX_MTU && RTA_PAYLOAD(m) >= 4) memcpy(&mtu, RTA_DATA(m), 4);
      }
    }
  }
  char name[IF_NAMESIZE] = "";
  if (ifindex != 0 && !if_indextoname(ifindex, name)) name[0] = '\0';

  Napi::Object result = Napi::Object::New(env);
  result.Set("type", route->rtm_type);
  result.Set("ifindex", ifindex);
  result.Set("ifname", name);
  result.Set("gateway", BytesOrNull(env, gateway, 16));
  result.Set("prefsrc", BytesOrNull(env, prefsrc, 16));
  result.Set("mtu", mtu != 0 ? Napi::Value(Napi::Number::New(env, mtu)) : env.Null());
  return result;
}

Napi::Value NeighbourGet6(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t ifindex = info[0].As<Napi::Number>().Uint32Value();
  const uint8_t* dst = Ipv6Argument(info, 1);
  Request request{};
  StartRequest(&request, RTM_GETNEIGH, sizeof(ndmsg));
  request.body.neighbour.ndm_family = AF_INET6;
  request.body.neighbour.ndm_ifindex = int(ifindex);
  AddAttribute(&request.header, NDA_DST, dst, 16);

  alignas(nlmsghdr) char reply[8192];
  nlmsghdr* answer = nullptr;
  const int err = Transact(&request.header, reply, sizeof reply, &answer);
  if (err == ENOENT) return env.Null();
  if (err) ThrowErrno(env, "rtnetlink RTM_GETNEIGH", err);
  if (answer->nlmsg_type != RTM_NEWNEIGH) ThrowErrno(env, "rtnetlink RTM_GETNEIGH(unexpected answer)", EPROTO);

  auto* neighbour = static_cast<ndmsg*>(NLMSG_DATA(answer));
  const void* lladdr = nullptr;
  size_t lladdrLength = 0;
  int length = int(answer->nlmsg_len) - int(NLMSG_LENGTH(sizeof(ndmsg)));
  for (auto* a = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(neighbour) + NLMSG_ALIGN(sizeof(ndmsg))); RTA_OK(a, length);
       a = RTA_NEXT(a, length)) {
    if (a->rta_type == NDA_LLADDR) {
      lladdr = RTA_DATA(a);
      lladdrLength = RTA_PAYLOAD(a);
    }
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("state", neighbour->ndm_state);
  result.Set("lladdr", BytesOrNull(env, lladdr, lladdrLength));
  return result;
}

Napi::Value NeighbourUse6(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t ifindex = info[0].As<Napi::Number>().Uint32Value();
  const uint8_t* dst = Ipv6Argument(info, 1);
  // `ip -6 neigh replace DST dev IF use`: NTF_USE makes neigh_add() call
  // neigh_event_send() instead of updating the entry, as if a packet were queued to it
  // (STALE -> DELAY -> PROBE, a unicast solicitation; none or FAILED -> INCOMPLETE, a
  // multicast one). NLM_F_CREATE creates a missing entry for that; no NLM_F_REPLACE:
  // nothing of an existing entry is overridden. ndm_state is ignored with NTF_USE.
  Request request{};
  StartRequest(&request, RTM_NEWNEIGH, sizeof(ndmsg));
  request.header.nlmsg_flags |= NLM_F_ACK | NLM_F_CREATE;
  request.body.neighbour.ndm_family = AF_INET6;
  request.body.neighbour.ndm_ifindex = int(ifindex);
  request.body.neighbour.ndm_flags = NTF_USE;
  AddAttribute(&request.header, NDA_DST, dst, 16);

  alignas(nlmsghdr) char reply[8192];
  nlmsghdr* answer = nullptr;
  const int err = Transact(&request.header, reply, sizeof reply, &answer);
  // Success is the bare ACK (Transact's ENODATA); nothing else answers RTM_NEWNEIGH.
  if (err != ENODATA) ThrowErrno(env, "rtnetlink RTM_NEWNEIGH(NTF_USE)", err != 0 ? err : EPROTO);
  return env.Undefined();
}

Napi::Value InterfaceIndex(const Napi::CallbackInfo& info) {
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  return Napi::Number::New(info.Env(), if_nametoindex(name.c_str()));
}

}  // namespace stoq
