// SPDX-License-Identifier: Apache-2.0
// IPv6-only address parsing. STOQ refuses IPv4 loudly rather than silently mapping it.
import { isIPv4, isIPv6 } from 'node:net';
import { StoqInvalidAddressError } from './errors.js';

/** An IPv6 UDP endpoint. */
export interface SocketAddress {
  /** IPv6 address without brackets, e.g. 'fd00::2'. */
  readonly address: string;
  /** UDP port, 0..65535. */
  readonly port: number;
}

/** UDP port used when a target or the config names none. */
export const DEFAULT_PORT = 9292;

/** Throws unless `address` is a literal IPv6 address (not IPv4, not IPv4-mapped, not a name). */
export function assertIPv6(address: string, operation: string): string {
  if (typeof address !== 'string') {
    throw new StoqInvalidAddressError(`${operation}: the address must be a string such as '::1', got ${typeof address}`, { operation });
  }
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (isIPv4(bare) || bare === '0.0.0.0') {
    throw new StoqInvalidAddressError(`${operation}: ${address} is an IPv4 address; STOQ is IPv6 only`, {
      operation,
      hint: "use an IPv6 address such as '::' or '::1'",
    });
  }
  if (bare.includes('%')) {
    // quiche's paths carry no scope id, so a link-local peer would be unreachable anyway.
    throw new StoqInvalidAddressError(`${operation}: ${address} has a scope id; scoped (link-local) addresses are not supported`, {
      operation,
      hint: 'use a global or unique-local (fd00::/8) address',
    });
  }
  if (!isIPv6(bare)) {
    throw new StoqInvalidAddressError(`${operation}: ${JSON.stringify(address)} is not an IPv6 address literal`, {
      operation,
      hint: "write it like 'fd00::2' or '[fd00::2]:9292'",
    });
  }
  // One spelling per address ('0::0' and '::' alike, lower case, longest zero run
  // compressed), so comparisons and map keys see the same text as the kernel and URL do.
  const canonical = new URL(`http://[${bare}]`).hostname.slice(1, -1);
  if (/^::ffff:[0-9a-f]{1,4}:[0-9a-f]{1,4}$/.test(canonical)) {
    throw new StoqInvalidAddressError(`${operation}: ${address} is an IPv4-mapped address; STOQ is IPv6 only`, { operation });
  }
  return canonical;
}

/** Whether `address` (canonical or not) is link-local, fe80::/10: it exists only on one interface. */
export function isLinkLocal(address: string): boolean {
  return /^fe[89ab]/i.test(address);
}

/** Throws unless `port` is an integer UDP port (0 only when `allowZero`). */
export function assertPort(port: number, operation: string, allowZero = true): number {
  if (typeof port !== 'number') {
    throw new StoqInvalidAddressError(`${operation}: the port must be a number, got ${typeof port} ${JSON.stringify(port)}`, { operation });
  }
  if (!Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 65535) {
    throw new StoqInvalidAddressError(`${operation}: invalid UDP port ${String(port)}`, { operation });
  }
  return port;
}

/**
 * Parses '[fd00::2]:9292', '[fd00::2]' or 'fd00::2' (the last two get {@link DEFAULT_PORT}).
 *
 * @param operation - Named in error messages (default 'connect').
 * @throws {@link StoqInvalidAddressError} (`STOQ_ERR_INVALID_ADDRESS`) for IPv4, IPv4-mapped
 *   or non-literal addresses, and for port 0 or a port above 65535.
 */
export function parseTarget(target: string, operation = 'connect'): SocketAddress {
  if (typeof target !== 'string') {
    throw new StoqInvalidAddressError(`${operation}: the target must be a string such as '[fd00::2]:9292', got ${typeof target}`, { operation });
  }
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(target);
  if (bracketed) {
    const address = assertIPv6(bracketed[1] ?? '', operation);
    const port = bracketed[2] === undefined ? DEFAULT_PORT : Number(bracketed[2]);
    return { address, port: assertPort(port, operation, false) };
  }
  return { address: assertIPv6(target, operation), port: DEFAULT_PORT };
}

/** Formats an address as '[fd00::2]:9292'. */
export function formatAddress({ address, port }: SocketAddress): string {
  return `[${address}]:${port}`;
}
