#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// `stoq-install-addon`: the install script of @stoq/loader, @stoq/af-xdp and @stoq/udp
// (run by npm/pnpm in the package's folder); see install-addon.ts.
import { installAddon } from './install-addon.js';

const outcome = installAddon(process.cwd());
if (outcome.message) console.error(outcome.message);
process.exitCode = outcome.code;
