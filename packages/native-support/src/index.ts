// SPDX-License-Identifier: Apache-2.0
// @stoq/native-support: what STOQ's native packages (@stoq/loader, @stoq/af-xdp, @stoq/udp)
// share in TypeScript, so that their errors look and behave the same.
export { StoqNativeError, errnoName, type StoqNativeErrorDetails } from './errors.js';
export { NativeAddonError, loadNativeAddon, type NativeAddonErrorCode, type NativeAddonOptions, type NativeLoadHint } from './addon.js';
export { installAddon, type InstallAddonConfig, type InstallAddonOutcome } from './install-addon.js';
export { BPF_FS_MAGIC, onBpffs } from './bpffs.js';
