// SPDX-License-Identifier: Apache-2.0
// Change notifications for the host's IPv6 addresses from the kernel (rtnetlink), so a
// caller that keeps a copy of them (a BPF map of local addresses, a listener per address)
// re-reads them when they change instead of polling. Only "something changed" is
// reported: the caller re-reads the addresses its own way (os.networkInterfaces()).
import { constants } from 'node:os';
import { native, type NativeAddressWatch } from './binding.js';
import { errnoName, invalidArgument, XskError, type XskErrorCode } from './errors.js';

const E = constants.errno;

/** A running watch from {@link watchIpv6Addresses}. */
export interface Ipv6AddressWatch {
  /** True once close() was called or the watch failed. */
  readonly closed: boolean;
  /** Stops watching and closes the netlink socket; idempotent. No callback runs after it. */
  close(): void;
}

const FALLBACK = 're-read the addresses on a timer instead';

function watchError(errno: number, operation: string, message: string, cause?: unknown): XskError {
  let code: XskErrorCode = 'STOQ_ERR_XSK_SYSCALL';
  let hint: string;
  switch (errno) {
    case E.EPERM:
    case E.EACCES:
      code = 'STOQ_ERR_XSK_PERMISSION';
      hint = `address notifications need no capability, so a seccomp filter or LSM policy (AppArmor, SELinux) refuses NETLINK_ROUTE sockets here: allow them, or ${FALLBACK}`;
      break;
    case E.EMFILE:
    case E.ENFILE:
      hint = `out of file descriptors (ulimit -n, fs.file-max); close some or raise the limit, or ${FALLBACK}`;
      break;
    case E.ENOMEM:
    case E.ENOBUFS:
      code = 'STOQ_ERR_XSK_NO_MEMORY';
      hint = `the kernel could not allocate the netlink socket; ${FALLBACK}`;
      break;
    case E.EAFNOSUPPORT:
    case E.EPROTONOSUPPORT:
      hint = `this kernel or sandbox has no rtnetlink (AF_NETLINK, NETLINK_ROUTE); ${FALLBACK}`;
      break;
    default:
      hint = operation.startsWith('socket') || operation.startsWith('bind') || operation.startsWith('uv_poll_')
        ? `opening the netlink socket failed; ${FALLBACK}`
        : `the watch stopped and changes since may have been missed: re-read the addresses and open a new watch, or ${FALLBACK}`;
  }
  return new XskError(code, message, { operation, hint, errno, ...(cause === undefined ? {} : { cause }) });
}

/**
 * Calls `onChange()` when this host's IPv6 addresses may have changed, within a turn of
 * the event loop of the kernel's notification (rtnetlink): an address added, removed, or
 * its flags or lifetimes updated, on any interface; and any change of a link (up or down,
 * carrier, master, new or gone), since `os.networkInterfaces()` lists only interfaces that
 * are up and running. A burst of changes is one call; when the kernel drops notifications
 * (its queue overflowed) that is a call too. Nothing says what changed: re-read the
 * addresses (os.networkInterfaces()).
 *
 * The watch follows the network namespace the process is in when it is opened. It does
 * not keep the event loop alive (like an unref'd timer), and it runs until close(). A
 * callback that throws is an uncaught exception, as from an EventEmitter listener. If the
 * socket fails later, `onChange(error)` is called once with an `XskError` and the watch
 * is closed: changes may have been missed, re-read the addresses.
 *
 * Throws `XskError` when the socket cannot be opened (`STOQ_ERR_XSK_PERMISSION` where a
 * sandbox forbids netlink sockets, `STOQ_ERR_XSK_NO_MEMORY` for ENOMEM/ENOBUFS,
 * `STOQ_ERR_XSK_SYSCALL` otherwise), and `STOQ_ERR_INVALID_ARGUMENT` when `onChange` is not
 * a function. No privilege is needed.
 */
export function watchIpv6Addresses(onChange: (error?: XskError) => void): Ipv6AddressWatch {
  const op = 'watchIpv6Addresses';
  if (typeof onChange !== 'function') throw invalidArgument(op, `${op}: onChange must be a function, got ${onChange === null ? 'null' : typeof onChange}`);
  let handle: NativeAddressWatch | null = null;
  const watch = {
    get closed(): boolean {
      return handle === null;
    },
    close(): void {
      const h = handle;
      handle = null;
      h?.close();
    },
  };
  try {
    handle = new native.NativeAddressWatch((errno: number) => {
      if (handle === null) return;
      if (errno === 0) {
        onChange();
        return;
      }
      watch.close();
      onChange(watchError(errno, 'address notifications', `${op}: watching address notifications failed: ${errnoName(errno) ?? `errno ${errno}`}`));
    });
  } catch (error) {
    const { errno, operation } = error as { errno?: unknown; operation?: unknown };
    if (typeof errno !== 'number' || typeof operation !== 'string') throw error;
    throw watchError(errno, operation, `${op}: ${(error as Error).message}`, error);
  }
  return watch;
}
