export { createLab, withLab, type Lab, type LabOptions, type LabSide } from './lab.js';
export { LabCommandError, run, type RunResult } from './run.js';
