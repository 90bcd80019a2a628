// SPDX-License-Identifier: Apache-2.0
// The kernel's IPv6 route and neighbour tables over rtnetlink, for frames built here:
// an AF_XDP sender needs the next hop's MAC, which only the kernel knows.
#pragma once

#include <napi.h>

namespace stoq {

// routeGet6(dst: Uint8Array(16), oif: number, src: Uint8Array(16) | null)
//   -> { type, ifindex, ifname, gateway, prefsrc, mtu }
// (gateway/prefsrc: Uint8Array(16) or null; mtu: RTAX_MTU or null); throws errno errors
// (ENETUNREACH, …). `src` is sent as RTA_SRC, so `ip rule from SRC` applies.
Napi::Value RouteGet6(const Napi::CallbackInfo& info);

// neighbourGet6(ifindex: number, dst: Uint8Array(16)) -> { state, lladdr } or null when
// the table has no entry (lladdr: Uint8Array or null while unresolved).
Napi::Value NeighbourGet6(const Napi::CallbackInfo& info);

// neighbourUse6(ifindex: number, dst: Uint8Array(16)) -> undefined: RTM_NEWNEIGH with
// NTF_USE (and NLM_F_CREATE): the kernel treats the entry as used by a packet and
// re-validates or resolves it itself. Demotes a PERMANENT entry (6.18): callers must
// check the state first. Needs CAP_NET_ADMIN; throws errno errors.
Napi::Value NeighbourUse6(const Napi::CallbackInfo& info);

// interfaceIndex(name) -> ifindex, 0 when there is no such interface here.
Napi::Value InterfaceIndex(const Napi::CallbackInfo& info);

}  // namespace stoq
