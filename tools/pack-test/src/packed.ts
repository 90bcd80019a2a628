// SPDX-License-Identifier: Apache-2.0
// What the global setup hands to every test file: one tarball per publishable package.
export interface PackedPackage {
  name: string;
  version: string;
  /** Absolute path of the .tgz made by `pnpm pack`. */
  tarball: string;
  /** Paths inside the tarball, without the leading `package/`. */
  files: string[];
  /** The manifest as published (workspace ranges already rewritten by pnpm). */
  manifest: {
    dependencies?: Record<string, string>;
    optionalDependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
    [key: string]: unknown;
  };
}

export type Packed = Record<string, PackedPackage>;

declare module 'vitest' {
  export interface ProvidedContext {
    packed: Packed;
  }
}
