// SPDX-License-Identifier: Apache-2.0
// Typed errors with stable codes and hints. The brand is a global symbol so
// `instanceof XskError` holds across two copies of this package in one process.
import { constants } from 'node:os';
import { StoqNativeError } from '@stoq/native-support';

// What an XskError is built from besides its code and message (operation, hint, errno, cause).
export { errnoName, type StoqNativeErrorDetails as XskErrorDetails } from '@stoq/native-support';

const E = constants.errno;

/** Stable codes of `XskError` (the README's Errors table says when each occurs). */
export type XskErrorCode =
  | 'STOQ_ERR_XSK_PERMISSION'
  | 'STOQ_ERR_XSK_ZEROCOPY_UNSUPPORTED'
  | 'STOQ_ERR_NO_SUCH_DEVICE'
  | 'STOQ_ERR_XSK_BAD_QUEUE'
  | 'STOQ_ERR_XSK_BUSY'
  | 'STOQ_ERR_XSK_NO_MEMORY'
  | 'STOQ_ERR_XSK_NO_BPFFS'
  | 'STOQ_ERR_XSK_BATCH_HELD'
  | 'STOQ_ERR_INVALID_ARGUMENT'
  | 'STOQ_ERR_CLOSED'
  | 'STOQ_ERR_XSK_SYSCALL';

/**
 * Every error this package throws, `new XskError(code, message, details)`: the message gets
 * the hint appended, `errnoCode` is derived from `details.errno`. `instanceof XskError` also
 * holds for errors from another copy of the package in the same process (branded with
 * `Symbol.for('@stoq/af-xdp.XskError')`).
 */
export class XskError extends StoqNativeError<XskErrorCode> {
  /** The cross-copy brand `instanceof` looks for. */
  protected static override readonly brand: symbol = Symbol.for('@stoq/af-xdp.XskError');
}

/** Context the mapping uses to word hints. */
export interface ErrorContext {
  /** Interface the operation was on. */
  ifname?: string;
  /** Queue the operation was on. */
  queueId?: number;
  /** Requested bind mode (`'zerocopy'` turns EOPNOTSUPP into STOQ_ERR_XSK_ZEROCOPY_UNSUPPORTED). */
  mode?: string;
}

/** What the native side reports about the program that keeps a standalone socket's redirect program off an interface. */
interface AttachedProgram {
  attachedProgramId?: number;
  attachedProgramName?: string;
  attachedThrough?: string;
  attachedMode?: string;
}

// Failures of the standalone redirect program (bpf_map_create, bpf_prog_load, bpf_link_create, …).
function classifyRedirect(errno: number, operation: string, ctx: ErrorContext, attached: AttachedProgram): { code: XskErrorCode; hint: string } | undefined {
  const dev = ctx.ifname ?? 'IF';
  const own = 'or open the socket with inhibitProgramLoad and put socket.fd into your own program\'s XSKMAP';
  switch (errno) {
    case E.EPERM:
    case E.EACCES:
      if (!operation.includes('get_fd_by_id')) return undefined;
      return {
        code: 'STOQ_ERR_XSK_PERMISSION',
        hint: `${dev} already has another process's standalone redirect program; joining it (taking an fd on its link and XSKMAP by id) needs CAP_SYS_ADMIN`,
      };
    case E.EBUSY:
    case E.EEXIST: {
      const what = attached.attachedProgramId
        ? `XDP program ${attached.attachedProgramId} '${attached.attachedProgramName}' (${attached.attachedMode ?? 'native'}, attached through ${attached.attachedThrough})`
        : 'another XDP program';
      const legacy = attached.attachedProgramName === 'xsk_def_prog' && attached.attachedThrough === 'netlink'
        ? " — libxdp's default AF_XDP program, which stays attached after its process is killed"
        : '';
      const remove = attached.attachedThrough === 'bpf_link'
        ? 'it goes away when the process holding its link exits'
        : `remove it with \`ip link set dev ${dev} xdp off\` if nothing uses it`;
      return { code: 'STOQ_ERR_XSK_BUSY', hint: `${dev} already carries ${what}${legacy}: ${remove}, ${own}` };
    }
    case E.EOPNOTSUPP:
      return {
        code: 'STOQ_ERR_XSK_SYSCALL',
        hint: `the driver of ${dev} has no native XDP, and standalone sockets attach their redirect program in native mode only; attach your own program in generic mode, open the socket with inhibitProgramLoad and put socket.fd into that program's XSKMAP`,
      };
    case E.EINVAL:
      if (!operation.startsWith('bpf_link_create')) return undefined;
      return { code: 'STOQ_ERR_XSK_SYSCALL', hint: 'the kernel refused to attach an XDP program through a bpf_link (needs Linux 5.9 or later)' };
    case E.E2BIG:
      return { code: 'STOQ_ERR_XSK_BAD_QUEUE', hint: `the redirect program already on ${dev} has fewer XSKMAP slots than this queue id (it was sized when the queue count was smaller); close its sockets first` };
    default:
      return undefined;
  }
}

function classify(errno: number, operation: string, ctx: ErrorContext, attached: AttachedProgram = {}): { code: XskErrorCode; hint: string } {
  const where = ctx.ifname === undefined ? '' : ` on ${ctx.ifname}${ctx.queueId === undefined ? '' : ` queue ${ctx.queueId}`}`;
  if (/^bpf_(link_create|prog_load|map_create|map_update_elem\(XSKMAP\)|prog_get_fd_by_id|obj_get_info)/.test(operation)) {
    const redirect = classifyRedirect(errno, operation, ctx, attached);
    if (redirect) return redirect;
  }
  // Checks of send() itself, before anything reaches the kernel (native/socket_io.cc).
  if (operation.startsWith('submitTx(frame offset')) {
    return { code: 'STOQ_ERR_INVALID_ARGUMENT', hint: 'send() takes the frames allocTx() reserved: write into tx.frame(i) and leave tx.offsets unchanged (nothing was sent; cancelTx() returns the frames)' };
  }
  if (operation.startsWith('submitTx(frame length')) {
    return { code: 'STOQ_ERR_INVALID_ARGUMENT', hint: 'give every frame to send a length with tx.setLength(i, bytes) (1 to the frame size), or send fewer with send(tx, count) (nothing was sent)' };
  }
  if (operation.startsWith('xsk_socket__update_xskmap')) {
    const pass = 'pass the fd of an XSKMAP (BPF_MAP_TYPE_XSKMAP), e.g. from openPinnedMap()';
    if (errno === E.EBADF) return { code: 'STOQ_ERR_INVALID_ARGUMENT', hint: `not a map fd: no file is open with that number; ${pass}` };
    if (errno === E.EINVAL) return { code: 'STOQ_ERR_INVALID_ARGUMENT', hint: `not an XSKMAP fd (another kind of file or BPF map); ${pass}` };
    if (errno === E.E2BIG) return { code: 'STOQ_ERR_XSK_BAD_QUEUE', hint: `the XSKMAP has fewer entries (max_entries) than this queue id${where}; size the map for every queue` };
  }
  switch (errno) {
    case E.EPERM:
    case E.EACCES:
      return {
        code: 'STOQ_ERR_XSK_PERMISSION',
        hint: 'AF_XDP needs CAP_NET_RAW (socket), CAP_NET_ADMIN (bind, XDP attach) and CAP_BPF or CAP_SYS_ADMIN (XSKMAP); run as root or grant them, e.g. setcap cap_net_raw,cap_net_admin,cap_bpf,cap_ipc_lock+ep',
      };
    case E.EOPNOTSUPP:
      if (ctx.mode === 'zerocopy' || operation.includes('zerocopy')) {
        return {
          code: 'STOQ_ERR_XSK_ZEROCOPY_UNSUPPORTED',
          hint: `the driver${where} does not support zero-copy AF_XDP (EOPNOTSUPP; veth never does); use mode 'copy' or 'auto'`,
        };
      }
      return { code: 'STOQ_ERR_XSK_SYSCALL', hint: `operation not supported${where} (driver or kernel lacks the feature)` };
    case E.ENODEV:
    case E.ENXIO:
      return { code: 'STOQ_ERR_NO_SUCH_DEVICE', hint: `no such network interface${where}; check \`ip link\`` };
    case E.EBUSY:
      return operation.startsWith('receive')
        ? { code: 'STOQ_ERR_XSK_BATCH_HELD', hint: 'release() the previous RX batch before receiving the next one' }
        : {
            code: 'STOQ_ERR_XSK_BUSY',
            hint: `another AF_XDP socket already owns this queue${where} (a just-closed one releases it asynchronously: retry shortly), or the UMEM still has sockets; close them first`,
          };
    case E.ENOBUFS:
    case E.ENOMEM:
      return {
        code: 'STOQ_ERR_XSK_NO_MEMORY',
        hint: 'the UMEM could not be pinned: raise RLIMIT_MEMLOCK (ulimit -l) or grant CAP_IPC_LOCK, or use fewer/smaller frames',
      };
    case E.EBADF:
      return { code: 'STOQ_ERR_CLOSED', hint: 'the socket or UMEM was closed' };
    case E.EINVAL:
      return { code: 'STOQ_ERR_INVALID_ARGUMENT', hint: `the kernel rejected the parameters${where} (queue id, ring sizes or flags)` };
    default:
      return { code: 'STOQ_ERR_XSK_SYSCALL', hint: `system call failed${where}` };
  }
}

/** Turns an error thrown by the native addon ({ errno, operation }) into an XskError. */
export function fromNative(error: unknown, ctx: ErrorContext = {}): Error {
  if (error instanceof XskError || typeof error !== 'object' || error === null) return error as Error;
  const { errno, operation } = error as { errno?: unknown; operation?: unknown };
  if (typeof errno !== 'number' || typeof operation !== 'string') return error as Error;
  const { code, hint } = classify(errno, operation, ctx, error as AttachedProgram);
  return new XskError(code, (error as Error).message, { operation, hint, errno, cause: error });
}

/** A `STOQ_ERR_INVALID_ARGUMENT` error for `operation`. */
export function invalidArgument(operation: string, message: string, hint?: string): XskError {
  return new XskError('STOQ_ERR_INVALID_ARGUMENT', message, { operation, ...(hint ? { hint } : {}) });
}

/** A `STOQ_ERR_CLOSED` error: `what` was used after close()/destroy(). */
export function closedError(operation: string, what: string): XskError {
  return new XskError('STOQ_ERR_CLOSED', `${operation}: ${what} is closed`, { operation, hint: 'open a new one', errno: E.EBADF });
}
