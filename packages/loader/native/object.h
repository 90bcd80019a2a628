// SPDX-License-Identifier: Apache-2.0
// One BPF object file: open (parse ELF + BTF), load (verify; off the main thread),
// list programs and maps with their fds, close. Released by the GC if dropped.
#pragma once
#include <bpf/libbpf.h>
#include <napi.h>

#include <atomic>

namespace stoq {

class ObjectHandle : public Napi::ObjectWrap<ObjectHandle> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit ObjectHandle(const Napi::CallbackInfo& info);
  ~ObjectHandle() override;

  struct bpf_object* object() const { return object_; }
  std::atomic<bool> loading{false};

 private:
  Napi::Value Load(const Napi::CallbackInfo& info);
  Napi::Value Programs(const Napi::CallbackInfo& info);
  Napi::Value Maps(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  void Release();

  struct bpf_object* object_ = nullptr;
};

}  // namespace stoq
