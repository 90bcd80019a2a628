// SPDX-License-Identifier: Apache-2.0
// A uv_poll_t that native code owns and that Node's environment teardown can close: a
// worker's event loop cannot close while a handle is still open (the process crashed when
// a worker ended with a watch or a polling socket open). The owner registers an async
// cleanup hook; from it, ClosePollHandle() closes the handle and the hook is removed only
// once libuv has run the close callback, which is what Node waits for.
#pragma once

#include <node_api.h>
#include <uv.h>

namespace stoq {

struct PollHandle {
  uv_poll_t poll;  // first: a uv_handle_t* of the poll is a PollHandle*
  napi_async_cleanup_hook_handle teardown = nullptr;
};

inline uv_poll_t* NewPollHandle() { return &(new PollHandle)->poll; }

// For a handle uv_poll_init() failed on (libuv never saw it).
inline void DeleteUninitialisedPollHandle(uv_poll_t* poll) { delete reinterpret_cast<PollHandle*>(poll); }

// Stops and closes `poll` (its data must no longer be used); with `teardown`, removes that
// hook once libuv has closed the handle.
inline void ClosePollHandle(uv_poll_t* poll, napi_async_cleanup_hook_handle teardown) {
  uv_poll_stop(poll);
  poll->data = nullptr;
  reinterpret_cast<PollHandle*>(poll)->teardown = teardown;
  uv_close(reinterpret_cast<uv_handle_t*>(poll), [](uv_handle_t* handle) {
    auto* owner = reinterpret_cast<PollHandle*>(handle);
    if (owner->teardown) napi_remove_async_cleanup_hook(owner->teardown);
    delete owner;
  });
}

}  // namespace stoq
