// SPDX-License-Identifier: Apache-2.0
// UDP GSO (UDP_SEGMENT) for node:dgram sockets: validation and policy here, the
// setsockopt/getsockopt in native/addon.cc.
import * as dgram from 'node:dgram';
import { native } from './binding.js';
import { NO_GSO_HINT, StoqUdpError, errnoName, fromNative, invalidArgument } from './errors.js';
import { socketFd } from './socket-fd.js';

/**
 * Most segments one GSO send may carry, as a safe value for every kernel with UDP GSO.
 * The kernel's own limit (`UDP_MAX_SEGMENTS`, kernel-internal, not in the UAPI headers)
 * was 64 from Linux 4.18 and was raised to 128 in 2024 (upstream commit 1382e3b6a350,
 * also backported to the stable series); there is no way to ask the kernel which one it has.
 * A send with more segments than the kernel's limit fails with EINVAL (in the send callback).
 */
export const UDP_MAX_SEGMENTS = 64;

/**
 * Largest UDP payload of one send over IPv4 (65535 − 20 − 8), and the largest segment
 * size `setUdpSegmentSize` accepts; it is also the most bytes one GSO send may carry
 * over IPv4 (IPv6: 65527).
 */
export const UDP_MAX_PAYLOAD = 65_507;

function validSegmentSize(operation: string, segmentSize: unknown): number {
  if (typeof segmentSize !== 'number' || !Number.isInteger(segmentSize) || segmentSize < 0 || segmentSize > UDP_MAX_PAYLOAD) {
    throw invalidArgument(
      operation,
      `segmentSize must be an integer from 0 to ${UDP_MAX_PAYLOAD}, got ${typeof segmentSize === 'number' ? segmentSize : typeof segmentSize}`,
      '0 turns GSO off; otherwise the size of every datagram of a run but the last',
    );
  }
  return segmentSize;
}

/**
 * Sets the socket's UDP GSO segment size (`setsockopt(SOL_UDP, UDP_SEGMENT)`).
 *
 * From then on the kernel cuts every send whose payload is larger than `segmentSize`
 * into datagrams of `segmentSize` bytes (the last one may be shorter): pass the run as
 * a list, `socket.send([b1, b2, b3], port, address)`, and it leaves as three datagrams
 * from one syscall. Sends of at most `segmentSize` bytes go out unchanged. 0 turns GSO off.
 *
 * Caveats (kernel behaviour, checked per send and reported as an error in the send
 * callback; without a callback node:dgram drops it silently, so always pass one):
 * - while a segment size is set, *any* send larger than `segmentSize` is cut, including a
 *   single buffer meant as one datagram;
 * - a run of more segments than the kernel's limit fails with EINVAL (64 or 128, see
 *   {@link UDP_MAX_SEGMENTS});
 * - segments are never IP-fragmented: when `segmentSize` plus the IP and UDP headers
 *   exceeds the route's MTU, sends that do not fit the MTU fail (EMSGSIZE; EINVAL on some
 *   kernels) instead of leaving as fragments. Keep `segmentSize` within the path MTU.
 *
 * @param socket A bound node:dgram socket (`udp4` or `udp6`).
 * @param segmentSize Integer from 0 to {@link UDP_MAX_PAYLOAD}.
 * @throws {@link StoqUdpError} STOQ_ERR_INVALID_ARGUMENT, STOQ_ERR_NOT_BOUND, STOQ_ERR_CLOSED,
 * STOQ_ERR_UDP_GSO_UNSUPPORTED (kernel without UDP GSO), STOQ_ERR_UDP_FD_UNAVAILABLE (this
 * Node version hides the fd), STOQ_ERR_NATIVE_MISSING / STOQ_ERR_NATIVE_LOAD.
 */
export function setUdpSegmentSize(socket: dgram.Socket, segmentSize: number): void {
  const operation = 'setUdpSegmentSize';
  const size = validSegmentSize(operation, segmentSize);
  const fd = socketFd(socket, operation);
  const addon = native();
  try {
    addon.setUdpSegment(fd, size);
  } catch (error) {
    throw fromNative(error, operation);
  }
}

/**
 * Reads the socket's UDP GSO segment size (`getsockopt(SOL_UDP, UDP_SEGMENT)`); 0 when GSO is off.
 *
 * @param socket A bound node:dgram socket.
 * @throws {@link StoqUdpError} with the same codes as {@link setUdpSegmentSize}.
 */
export function getUdpSegmentSize(socket: dgram.Socket): number {
  const operation = 'getUdpSegmentSize';
  const fd = socketFd(socket, operation);
  const addon = native();
  try {
    return addon.getUdpSegment(fd);
  } catch (error) {
    throw fromNative(error, operation);
  }
}

/** What {@link probeUdpGso} found. */
export interface UdpGsoProbe {
  /** True when {@link setUdpSegmentSize} can work on this host and Node. */
  readonly supported: boolean;
  /** Why not (absent when supported). */
  readonly reason?: string;
  /** The error code behind `reason` (absent when supported). */
  readonly code?: string;
}

let probed: UdpGsoProbe | undefined;

function probe(): UdpGsoProbe {
  let addon;
  try {
    addon = native();
  } catch (error) {
    return { supported: false, reason: (error as Error).message, code: (error as StoqUdpError).code };
  }
  const errno = addon.probeUdpSegment();
  if (errno !== 0) {
    return { supported: false, reason: `setsockopt(UDP_SEGMENT) on a probe socket failed (${errnoName(errno) ?? errno}): ${NO_GSO_HINT}`, code: 'STOQ_ERR_UDP_GSO_UNSUPPORTED' };
  }
  // The kernel has GSO; can this Node's dgram sockets be reached? (unbound: handle.fd is -9)
  const socket = dgram.createSocket('udp4');
  try {
    socketFd(socket, 'probeUdpGso');
  } catch (error) {
    if ((error as StoqUdpError).code !== 'STOQ_ERR_NOT_BOUND') return { supported: false, reason: (error as Error).message, code: (error as StoqUdpError).code };
  } finally {
    socket.close();
  }
  return { supported: true };
}

/**
 * Whether UDP GSO works here, and if not, why: the native addon loads, the kernel accepts
 * `UDP_SEGMENT` on a throwaway socket, and this Node's dgram sockets carry a reachable fd.
 * Never throws; the answer is computed once and cached.
 */
export function probeUdpGso(): UdpGsoProbe {
  probed ??= probe();
  return probed;
}

/** `probeUdpGso().supported`. */
export function udpGsoSupported(): boolean {
  return probeUdpGso().supported;
}
