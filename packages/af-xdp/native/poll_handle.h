// SPDX-License-Identifier: Apache-2.0
// A uv_poll_t on an fd that native code owns, closed by its owner or by Node's
// environment teardown: a worker's event loop cannot close while a handle is still open
// (the process crashed when a worker ended with an address watch or a polling socket
// open). Open() registers an async cleanup hook; from it the owner calls Close(hook), and
// the hook is removed only once libuv has run the close callback, which Node waits for.
// Closed by the owner first, the hook is removed at once.
#pragma once

#include <napi.h>
#include <uv.h>

namespace stoq {

class FdPoll {
 public:
  FdPoll() = default;
  FdPoll(const FdPoll&) = delete;
  FdPoll& operator=(const FdPoll&) = delete;
  ~FdPoll() { Close(); }

  // Starts watching `fd` (not yet polling; the handle's data is `owner`) and registers
  // `onTeardown(hook, owner)`; 0, or the libuv error / ENOMEM (then nothing is left open).
  int Open(napi_env env, int fd, void* owner, napi_async_cleanup_hook onTeardown) {
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok) return UV_EINVAL;
    auto* handle = new Handle;
    if (int err = uv_poll_init(loop, &handle->poll, fd)) {
      delete handle;  // libuv never saw it
      return err;
    }
    handle->poll.data = owner;
    poll_ = &handle->poll;
    if (napi_add_async_cleanup_hook(env, onTeardown, owner, &hook_) != napi_ok) {
      hook_ = nullptr;
      Close();
      return UV_ENOMEM;
    }
    return 0;
  }

  uv_poll_t* get() const { return poll_; }
  explicit operator bool() const { return poll_ != nullptr; }

  // Stops and closes the handle; its callbacks see no owner from here on. `teardown`: the
  // hook Node's teardown called, removed once libuv has closed the handle. Idempotent.
  void Close(napi_async_cleanup_hook_handle teardown = nullptr) {
    if (hook_ && !teardown) napi_remove_async_cleanup_hook(hook_);
    hook_ = nullptr;
    if (!poll_) {
      if (teardown) napi_remove_async_cleanup_hook(teardown);
      return;
    }
    uv_poll_stop(poll_);
    poll_->data = nullptr;
    reinterpret_cast<Handle*>(poll_)->teardown = teardown;
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* closed) {
      auto* handle = reinterpret_cast<Handle*>(closed);
      if (handle->teardown) napi_remove_async_cleanup_hook(handle->teardown);
      delete handle;
    });
    poll_ = nullptr;
  }

 private:
  struct Handle {
    uv_poll_t poll;  // first: the uv_handle_t* libuv passes back is the Handle*
    napi_async_cleanup_hook_handle teardown = nullptr;
  };
  uv_poll_t* poll_ = nullptr;
  napi_async_cleanup_hook_handle hook_ = nullptr;
};

// Calls a poll's JS callback with one errno (0: ready) in its async context. A callback
// that throws is an uncaught exception, as from an EventEmitter listener.
inline void CallPollCallback(Napi::FunctionReference& callback, Napi::Object receiver, Napi::AsyncContext& context, int errnum) {
  Napi::Env env = callback.Env();
  Napi::HandleScope scope(env);
  try {
    callback.MakeCallback(receiver, {Napi::Number::New(env, errnum)}, context);
  } catch (const Napi::Error& error) {
    napi_fatal_exception(env, error.Value());
  }
}

}  // namespace stoq
