// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { frameMessage, MessageDeframer } from './message-framing.js';

describe('message framing', () => {
  it('reassembles any sequence of messages from any chunking', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 30 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
        (messages, cuts) => {
          const wire = Buffer.concat(messages.map((m) => frameMessage(m, 1000)));
          const deframer = new MessageDeframer(1000);
          const out: Buffer[] = [];
          for (let offset = 0, i = 0; offset < wire.length; i++) {
            const n = cuts[i % cuts.length] as number;
            out.push(...deframer.push(wire.subarray(offset, offset + n)));
            offset += n;
          }
          expect(out.map((b) => b.toString('hex'))).toEqual(messages.map((m) => Buffer.from(m).toString('hex')));
          expect(deframer.bufferedBytes).toBe(0);
        },
      ),
    );
  });

  it('refuses messages over the limit on both ends', () => {
    expect(() => frameMessage(new Uint8Array(11), 10)).toThrow(expect.objectContaining({ code: 'STOQ_ERR_MESSAGE_TOO_LARGE' }));
    const header = Buffer.alloc(4);
    header.writeUInt32BE(0xffffffff);
    const deframer = new MessageDeframer(10);
    expect(deframer.push(header)).toEqual([]);
    expect(deframer.failure).toMatchObject({ code: 'STOQ_ERR_MESSAGE_TOO_LARGE' });
  });

  it('returns the messages before an oversized header in the same chunk, then reports the failure', () => {
    const big = Buffer.alloc(4);
    big.writeUInt32BE(2000);
    const chunk = Buffer.concat([frameMessage(Buffer.alloc(100, 1), 1000), frameMessage(Buffer.alloc(100, 2), 1000), big, Buffer.alloc(50)]);
    const deframer = new MessageDeframer(1000);
    let messages: Buffer[] = [];
    expect(() => (messages = deframer.push(chunk))).not.toThrow();
    expect(messages.map((m) => m[0])).toEqual([1, 2]);
    expect(deframer.failure).toMatchObject({ code: 'STOQ_ERR_MESSAGE_TOO_LARGE' });
    // Nothing after the bad header is parsed, even if it looks like a message.
    expect(deframer.push(frameMessage(Buffer.alloc(3), 1000))).toEqual([]);
  });
});
