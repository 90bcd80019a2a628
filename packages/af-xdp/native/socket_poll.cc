// SPDX-License-Identifier: Apache-2.0
// Readiness through libuv: the loop's epoll watches the XSK fd, so an idle socket
// costs no CPU. The JS callback runs as a normal libuv callback (MakeCallback).
#include <uv.h>

#include <memory>

#include "errno_error.h"
#include "poll_handle.h"
#include "socket.h"

namespace stoq {

// startPoll(onReadable)
void Socket::StartPoll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureOpen(env, "startPoll");
  onReadable_ = Napi::Persistent(info[0].As<Napi::Function>());
  // One async context for the socket's life (async_hooks sees one resource, like a
  // net.Socket), instead of an object, a string and async_init/destroy per wakeup.
  // The resource is this object: Node holds it weakly, and onReadable_ keeps it
  // alive while polling (a fresh Object::New() would be collected under us).
  if (!readableContext_) readableContext_ = std::make_unique<Napi::AsyncContext>(env, "StoqXskReadable", Value());
  // A worker ending with this socket polling: Node's teardown closes the handle.
  if (!poll_) {
    if (int err = poll_.Open(env, fd_, this, &Socket::OnPollTeardown)) ThrowErrno(env, "uv_poll_init", -err);
  }
  if (int err = uv_poll_start(poll_.get(), UV_READABLE, &Socket::OnPoll)) ThrowErrno(env, "uv_poll_start", -err);
  if (pollRef_) uv_ref(reinterpret_cast<uv_handle_t*>(poll_.get()));
  else uv_unref(reinterpret_cast<uv_handle_t*>(poll_.get()));
}

// The callback goes with the last 'readable' listener (StartPoll sets it again): it
// closes over the JS socket, so keeping it would keep a dropped socket, its queue and
// its fds alive for good.
void Socket::StopPoll(const Napi::CallbackInfo& info) {
  if (poll_) uv_poll_stop(poll_.get());
  onReadable_.Reset();
}

// setRef(bool): whether a polling socket keeps the event loop alive.
void Socket::SetRef(const Napi::CallbackInfo& info) {
  pollRef_ = info[0].As<Napi::Boolean>().Value();
  if (!poll_) return;
  if (pollRef_) uv_ref(reinterpret_cast<uv_handle_t*>(poll_.get()));
  else uv_unref(reinterpret_cast<uv_handle_t*>(poll_.get()));
}

void Socket::OnPoll(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<Socket*>(handle->data);
  if (!self || self->onReadable_.IsEmpty()) return;
  // status < 0 reports a poll error (e.g. the device went away); JS reads it as errno.
  Napi::HandleScope scope(self->onReadable_.Env());
  CallPollCallback(self->onReadable_, self->Value(), *self->readableContext_, status < 0 ? -status : 0);
}

// The fd must not be closed while libuv still watches it: stop and close the handle first.
// The callback goes too: it closes over the JS socket, which holds this object, so a
// strong reference kept after close() would keep the whole socket from being collected.
void Socket::ClosePoll(napi_async_cleanup_hook_handle teardown) {
  readableContext_.reset();
  onReadable_.Reset();
  poll_.Close(teardown);
}

void Socket::OnPollTeardown(napi_async_cleanup_hook_handle hook, void* arg) {
  static_cast<Socket*>(arg)->ClosePoll(hook);
}

}  // namespace stoq
