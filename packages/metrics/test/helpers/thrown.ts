// What `fn` throws, for asserting on a typed error's fields; fails when it does not throw.
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}
