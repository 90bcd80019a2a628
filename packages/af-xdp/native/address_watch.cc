// SPDX-License-Identifier: Apache-2.0
// The socket belongs to the network namespace the process is in when it is opened, and
// joining a multicast group of NETLINK_ROUTE needs no privilege. Each wakeup drains the
// socket and calls JS once, so a burst of notifications (an interface going down drops
// all its addresses) costs one callback. ENOBUFS means the kernel dropped notifications
// because the receive buffer was full: still a change, the caller re-reads everything.
#include "address_watch.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "errno_error.h"
#include "poll_handle.h"

namespace stoq {

namespace {

// Reads per wakeup before yielding: the poll is level-triggered, what is left wakes it again.
constexpr int kMaxReads = 256;


}  // namespace

Napi::Function AddressWatch::Init(Napi::Env env) {
  return DefineClass(env, "NativeAddressWatch", {InstanceMethod<&AddressWatch::Close>("close")});
}

AddressWatch::AddressWatch(const Napi::CallbackInfo& info) : Napi::ObjectWrap<AddressWatch>(info) {
  Napi::Env env = info.Env();
  fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
  if (fd_ < 0) ThrowErrno(env, "socket(NETLINK_ROUTE)", errno);
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  local.nl_groups = RTMGRP_IPV6_IFADDR | RTMGRP_LINK;
  if (bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) {
    const int err = errno;
    Shutdown();
    ThrowErrno(env, "bind(RTMGRP_IPV6_IFADDR|RTMGRP_LINK)", err);
  }
  if (int err = poll_.Open(env, fd_, this, &AddressWatch::OnTeardown)) {
    Shutdown();
    ThrowErrno(env, "uv_poll_init", -err);
  }
  if (int err = uv_poll_start(poll_.get(), UV_READABLE, &AddressWatch::OnPoll)) {
    Shutdown();
    ThrowErrno(env, "uv_poll_start", -err);
  }
  // Like an unref'd timer: it never keeps the process alive, and it runs until close()
  // (the reference keeps this object from being collected while it watches).
  uv_unref(reinterpret_cast<uv_handle_t*>(poll_.get()));
  try {
    onChange_ = Napi::Persistent(info[0].As<Napi::Function>());
    context_ = std::make_unique<Napi::AsyncContext>(env, "StoqAddressWatch", Value());
  } catch (...) {
    Shutdown();
    throw;
  }
  Ref();
}

void AddressWatch::OnTeardown(napi_async_cleanup_hook_handle hook, void* arg) {
  static_cast<AddressWatch*>(arg)->Shutdown(hook);
}

AddressWatch::~AddressWatch() { Shutdown(); }

void AddressWatch::Close(const Napi::CallbackInfo& info) {
  if (fd_ < 0) return;
  Shutdown();
  Unref();
}

int AddressWatch::Drain() {
  // Notifications are a few hundred bytes each; the buffer only has to hold one datagram.
  alignas(nlmsghdr) char buffer[16384];
  bool changed = false;
  for (int reads = 0; reads < kMaxReads; reads++) {
    const ssize_t n = recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n >= 0) {
      changed = true;
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == ENOBUFS) {
      changed = true;
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    return errno;
  }
  return changed ? 0 : -1;
}

void AddressWatch::OnPoll(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<AddressWatch*>(handle->data);
  if (!self || self->onChange_.IsEmpty()) return;
  int err = 0;
  bool changed = false;
  if (status < 0) {
    // libuv stops the handle on POLLERR and reports EBADF. On this socket POLLERR is the
    // kernel's overrun (sk_err = ENOBUFS): a change, and the watch goes on. SO_ERROR
    // reads (and clears) what the socket really has.
    int pending = 0;
    socklen_t length = sizeof pending;
    if (getsockopt(self->fd_, SOL_SOCKET, SO_ERROR, &pending, &length) < 0) pending = errno;
    if (pending == 0 || pending == ENOBUFS) {
      changed = true;
      err = -uv_poll_start(handle, UV_READABLE, &AddressWatch::OnPoll);
    } else {
      err = pending;
    }
  }
  if (err == 0) {
    const int drained = self->Drain();
    if (drained > 0) err = drained;
    if (drained == 0) changed = true;
  }
  if (err == 0 && !changed) return;  // a spurious wakeup
  // A failed socket would wake the loop for good: it stops here, and JS hears why once.
  if (err != 0) uv_poll_stop(handle);
  Napi::HandleScope scope(self->onChange_.Env());
  CallPollCallback(self->onChange_, self->Value(), *self->context_, err);
}

// The handle is stopped and closed before the fd (libuv must not watch a closed fd). The
// callback goes too: it may close over the JS watch, which holds this object.
void AddressWatch::Shutdown(napi_async_cleanup_hook_handle teardown) {
  context_.reset();
  onChange_.Reset();
  poll_.Close(teardown);
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
}

}  // namespace stoq
