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
    expect(() => new MessageDeframer(10).push(header)).toThrow(expect.objectContaining({ code: 'STOQ_ERR_MESSAGE_TOO_LARGE' }));
  });
});
