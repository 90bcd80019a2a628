// SPDX-License-Identifier: Apache-2.0
#include "object.h"

#include <cerrno>
#include <string>

#include "error.h"
#include "log_capture.h"

namespace stoq {
namespace {

// Program load and verification can take long for big programs: keep it off the
// event loop. errno and the log are captured here and turned into a JS error on
// the main thread.
class LoadWorker : public Napi::AsyncWorker {
 public:
  LoadWorker(Napi::Env env, ObjectHandle* handle, Napi::Object keepAlive)
      : Napi::AsyncWorker(env), handle_(handle), deferred_(Napi::Promise::Deferred::New(env)) {
    keepAlive_ = Napi::Persistent(keepAlive);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    LogCapture capture;
    int rc = bpf_object__load(handle_->object());
    err_ = rc < 0 ? -rc : 0;
    log_ = capture.Take();
  }
  // A worker that exits (process.exit, terminate()) while the load runs gets this completion
  // during its teardown, when every N-API call throws: node-addon-api's AsyncWorker catches
  // that and, built with NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS (StoqNodeAddon.cmake), drops it.
  void OnOK() override {
    handle_->loading = false;
    if (err_ == 0) {
      deferred_.Resolve(Env().Undefined());
    } else {
      deferred_.Reject(ErrnoError(Env(), "load", err_, "", log_).Value());
    }
  }
  // Not reached (Execute never calls SetError).
  void OnError(const Napi::Error& error) override {
    handle_->loading = false;
    deferred_.Reject(error.Value());
  }

 private:
  ObjectHandle* handle_;
  Napi::ObjectReference keepAlive_;
  Napi::Promise::Deferred deferred_;
  int err_ = 0;
  std::string log_;
};

}  // namespace

Napi::Function ObjectHandle::Define(Napi::Env env) {
  return DefineClass(env, "ObjectHandle",
                     {InstanceMethod<&ObjectHandle::Load>("load"),
                      InstanceMethod<&ObjectHandle::Programs>("programs"),
                      InstanceMethod<&ObjectHandle::Maps>("maps"),
                      InstanceMethod<&ObjectHandle::Close>("close")});
}

ObjectHandle::ObjectHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ObjectHandle>(info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) ThrowInvalid(env, "open", "path must be a string");
  std::string path = info[0].As<Napi::String>();
  LogCapture capture;
  struct bpf_object* object = bpf_object__open_file(path.c_str(), nullptr);
  int err = libbpf_get_error(object);
  if (err != 0) throw ErrnoError(env, "open", -err, path, capture.Take());
  object_ = object;
}

ObjectHandle::~ObjectHandle() { Release(); }

void ObjectHandle::Release() {
  if (object_ != nullptr && !loading) {
    bpf_object__close(object_);  // closes every program and map fd it owns
    object_ = nullptr;
  }
}

Napi::Value ObjectHandle::Load(const Napi::CallbackInfo& info) {
  if (object_ == nullptr) throw ErrnoError(info.Env(), "load", EBADF, "object is closed");
  if (loading.exchange(true)) throw ErrnoError(info.Env(), "load", EBUSY, "a load is already running");
  auto* worker = new LoadWorker(info.Env(), this, info.This().As<Napi::Object>());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value ObjectHandle::Programs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array list = Napi::Array::New(env);
  if (object_ == nullptr) return list;
  struct bpf_program* program;
  uint32_t i = 0;
  bpf_object__for_each_program(program, object_) {
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("name", bpf_program__name(program));
    entry.Set("section", bpf_program__section_name(program));
    entry.Set("fd", bpf_program__fd(program));
    const char* type = libbpf_bpf_prog_type_str(bpf_program__type(program));
    entry.Set("type", type ? type : "unknown");
    list.Set(i++, entry);
  }
  return list;
}

Napi::Value ObjectHandle::Maps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array list = Napi::Array::New(env);
  if (object_ == nullptr) return list;
  struct bpf_map* map;
  uint32_t i = 0;
  bpf_object__for_each_map(map, object_) {
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("name", bpf_map__name(map));
    entry.Set("fd", bpf_map__fd(map));
    const char* type = libbpf_bpf_map_type_str(bpf_map__type(map));
    entry.Set("type", type ? type : "unknown");
    entry.Set("keySize", bpf_map__key_size(map));
    entry.Set("valueSize", bpf_map__value_size(map));
    entry.Set("maxEntries", bpf_map__max_entries(map));
    list.Set(i++, entry);
  }
  return list;
}

Napi::Value ObjectHandle::Close(const Napi::CallbackInfo& info) {
  if (loading) throw ErrnoError(info.Env(), "close", EBUSY, "wait for load() to settle before closing");
  Release();
  return info.Env().Undefined();
}

}  // namespace stoq
