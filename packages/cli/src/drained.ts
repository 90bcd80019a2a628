// Waiting out backpressure on a writable (a QUIC stream, a file, stdout) without
// hanging when it fails or closes first: a bare once('drain') would wait forever.

type Sink = NodeJS.WritableStream & { errored?: Error | null; destroyed?: boolean };

/** Waits for 'drain' on `sink`; rejects with its error, or with "`what` was closed" if it closes first. */
export function drained(sink: Sink, what: string): Promise<void> {
  if (sink.errored) return Promise.reject(sink.errored);
  if (sink.destroyed) return Promise.reject(new Error(`${what} was closed`));
  return new Promise<void>((resolve, reject) => {
    const done = (error?: Error) => {
      sink.off('drain', onDrain);
      sink.off('error', onError);
      sink.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => done();
    const onError = (error: Error) => done(error);
    const onClose = () => done(new Error(`${what} was closed`));
    sink.once('drain', onDrain);
    sink.once('error', onError);
    sink.once('close', onClose);
  });
}
