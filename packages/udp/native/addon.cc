// SPDX-License-Identifier: Apache-2.0
// UDP socket options node:dgram does not expose, on a socket's fd (src/socket-fd.ts
// finds the fd; src/gso.ts validates and maps errors). Mechanics only: each call is one
// or two syscalls, errors leave as a JS Error with a positive `errno` and `operation`.
#include <napi.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103  // Linux 4.18
#endif

namespace {

[[noreturn]] void ThrowErrno(Napi::Env env, const char* operation, int err) {
  Napi::Error error = Napi::Error::New(env, std::string(operation) + " failed: " + std::strerror(err));
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("operation", Napi::String::New(env, operation));
  throw error;
}

// The fd must be a UDP socket: a wrong fd from Node internals would otherwise turn into a
// misleading ENOPROTOOPT ("no UDP GSO") instead of ENOTSOCK/EPROTOTYPE.
void CheckUdpSocket(Napi::Env env, int fd) {
  int value = 0;
  socklen_t len = sizeof value;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &value, &len) < 0) ThrowErrno(env, "getsockopt(SO_TYPE)", errno);
  if (value != SOCK_DGRAM) ThrowErrno(env, "getsockopt(SO_TYPE)", EPROTOTYPE);
  len = sizeof value;
  if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &value, &len) < 0) ThrowErrno(env, "getsockopt(SO_PROTOCOL)", errno);
  if (value != IPPROTO_UDP) ThrowErrno(env, "getsockopt(SO_PROTOCOL)", EPROTOTYPE);
}

// setUdpSegment(fd, size): setsockopt(SOL_UDP, UDP_SEGMENT); 0 turns GSO off.
Napi::Value SetUdpSegment(const Napi::CallbackInfo& info) {
  const int fd = info[0].As<Napi::Number>().Int32Value();
  const int size = info[1].As<Napi::Number>().Int32Value();
  CheckUdpSocket(info.Env(), fd);
  if (setsockopt(fd, SOL_UDP, UDP_SEGMENT, &size, sizeof size) < 0) ThrowErrno(info.Env(), "setsockopt(UDP_SEGMENT)", errno);
  return info.Env().Undefined();
}

// getUdpSegment(fd) -> size: getsockopt(SOL_UDP, UDP_SEGMENT).
Napi::Value GetUdpSegment(const Napi::CallbackInfo& info) {
  const int fd = info[0].As<Napi::Number>().Int32Value();
  CheckUdpSocket(info.Env(), fd);
  int size = 0;
  socklen_t len = sizeof size;
  if (getsockopt(fd, SOL_UDP, UDP_SEGMENT, &size, &len) < 0) ThrowErrno(info.Env(), "getsockopt(UDP_SEGMENT)", errno);
  return Napi::Number::New(info.Env(), size);
}

// probeUdpSegment() -> 0 or errno: sets UDP_SEGMENT on a throwaway unbound UDP socket
// (IPv6, else IPv4 when IPv6 is disabled).
Napi::Value ProbeUdpSegment(const Napi::CallbackInfo& info) {
  int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) return Napi::Number::New(info.Env(), errno);
  const int size = 1200;
  const int result = setsockopt(fd, SOL_UDP, UDP_SEGMENT, &size, sizeof size) < 0 ? errno : 0;
  close(fd);
  return Napi::Number::New(info.Env(), result);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("setUdpSegment", Napi::Function::New(env, SetUdpSegment, "setUdpSegment"));
  exports.Set("getUdpSegment", Napi::Function::New(env, GetUdpSegment, "getUdpSegment"));
  exports.Set("probeUdpSegment", Napi::Function::New(env, ProbeUdpSegment, "probeUdpSegment"));
  return exports;
}

}  // namespace

NODE_API_MODULE(stoq_udp, Init)
