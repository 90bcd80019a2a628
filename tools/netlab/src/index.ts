export { createLab, withLab, type Lab, type LabOptions, type LabSide } from './lab.js';
export { LabCommandError, run, type RunResult } from './run.js';
export { reapOrphanLabs, OWNERS_DIR } from './owners.js';
