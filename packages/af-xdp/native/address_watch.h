// SPDX-License-Identifier: Apache-2.0
// Change notifications for the host's IPv6 addresses: a NETLINK_ROUTE socket in the
// RTMGRP_IPV6_IFADDR and RTMGRP_LINK groups, watched by the event loop (uv_poll). Links
// too, because what a caller reads back depends on them: os.networkInterfaces() lists only
// interfaces up and running (a carrier change), and a port's master holds link-local
// addresses of interest. The messages are not parsed: a wakeup only says "re-read the
// addresses", which the caller does its own way.
#pragma once

#include <napi.h>
#include <uv.h>

#include <memory>

#include "poll_handle.h"

namespace stoq {

class AddressWatch : public Napi::ObjectWrap<AddressWatch> {
 public:
  static Napi::Function Init(Napi::Env env);
  // new NativeAddressWatch(onChange(errno)): throws errno errors (socket, bind, uv_poll).
  explicit AddressWatch(const Napi::CallbackInfo& info);
  ~AddressWatch() override;

 private:
  void Close(const Napi::CallbackInfo& info);
  static void OnPoll(uv_poll_t* handle, int status, int events);
  // 0 when at least one notification (or an ENOBUFS overrun) was drained, -1 when
  // there was nothing to read, else the errno that ends the watch.
  int Drain();
  // Stops watching and closes the socket; idempotent. `teardown`: called from Node's
  // environment teardown, which waits until the poll handle is closed.
  void Shutdown(napi_async_cleanup_hook_handle teardown = nullptr);
  static void OnTeardown(napi_async_cleanup_hook_handle hook, void* arg);

  int fd_ = -1;
  FdPoll poll_;
  Napi::FunctionReference onChange_;
  std::unique_ptr<Napi::AsyncContext> context_;
};

}  // namespace stoq
