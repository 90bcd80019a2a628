// SPDX-License-Identifier: Apache-2.0
#include "error.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>

namespace stoq {

namespace {

// The errno closest to one of libbpf's own error numbers (LIBBPF_ERRNO__*, 4000 and up).
int RealErrno(int libbpfErr) {
  switch (libbpfErr) {
    case LIBBPF_ERRNO__LIBELF:    // libelf could not read it (not an ELF file, a directory)
    case LIBBPF_ERRNO__FORMAT:    // not a BPF ELF object
    case LIBBPF_ERRNO__KVERSION:
    case LIBBPF_ERRNO__ENDIAN:
    case LIBBPF_ERRNO__RELOC:
      return ENOEXEC;
    case LIBBPF_ERRNO__PROG2BIG:
      return E2BIG;
    case LIBBPF_ERRNO__PROGTYPE:
      return EOPNOTSUPP;
    case LIBBPF_ERRNO__WRNGPID:
    case LIBBPF_ERRNO__INVSEQ:
    case LIBBPF_ERRNO__NLPARSE:
      return EPROTO;
    default:  // INTERNAL, LOAD, VERIFY, KVER
      return EINVAL;
  }
}

}  // namespace

Napi::Error ErrnoError(Napi::Env env, const std::string& operation, int err,
                       const std::string& detail, const std::string& log) {
  // libbpf's private numbers are no errno: strerror() says "Unknown error 4001" and JS
  // would see errno 4001. Its own text goes into the message, a real errno to JS, and
  // the original number into `libbpfErrno`.
  const bool libbpfErr = err >= __LIBBPF_ERRNO__START && err < __LIBBPF_ERRNO__END;
  std::string text;
  if (libbpfErr) {
    char buffer[128] = "";
    libbpf_strerror(err, buffer, sizeof buffer);
    text = buffer;
  } else {
    text = std::strerror(err);
  }
  std::string message = operation + ": " + text;
  if (!detail.empty()) message += " (" + detail + ")";
  Napi::Error error = Napi::Error::New(env, message);
  if (libbpfErr) error.Set("libbpfErrno", Napi::Number::New(env, err));
  error.Set("errno", Napi::Number::New(env, libbpfErr ? RealErrno(err) : err));
  error.Set("operation", Napi::String::New(env, operation));
  if (!log.empty()) error.Set("log", Napi::String::New(env, log));
  return error;
}

void ThrowInvalid(Napi::Env env, const std::string& operation, const std::string& what) {
  throw ErrnoError(env, operation, EINVAL, what);
}

}  // namespace stoq
