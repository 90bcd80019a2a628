#!/usr/bin/env node
// Entry point of `stoq`: finds the sub-command, parses its options strictly and
// turns every thrown error into a message and an exit code (never a stack dump
// for bad input).
import { parseArgs } from 'node:util';
import { ExitCode, type Command } from './command.js';
import { demo } from './commands/demo.js';
import { doctor } from './commands/doctor.js';
import { maps } from './commands/maps.js';
import { top } from './commands/top.js';
import { serve } from './commands/serve.js';
import { connect } from './commands/connect.js';
import { bench } from './commands/bench.js';
import { FastPathUnavailable } from './net/transport.js';
import { stdoutFailed, watchStdout } from './stdout.js';
import { errorText } from './error-text.js';

const commands: readonly Command[] = [demo, doctor, serve, connect, top, maps, bench];

function globalHelp(): string {
  const lines = commands.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`);
  return [
    'stoq — QUIC over IPv6 for Node.js, accelerated by eBPF',
    '',
    'usage: stoq <command> [options]   (stoq <command> --help for its options)',
    '',
    'commands:',
    ...lines,
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(globalHelp());
    return name ? ExitCode.OK : ExitCode.USAGE;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    console.error(`stoq: unknown command '${name}'\n\n${globalHelp()}`);
    return ExitCode.USAGE;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    console.error(`stoq ${name}: ${(err as Error).message}\n\n${command.usage}`);
    return ExitCode.USAGE;
  }
  if (parsed.values['help']) {
    console.log(command.usage);
    return ExitCode.OK;
  }
  if (!command.positionals && parsed.positionals.length > 0) {
    console.error(`stoq ${name}: unexpected argument '${parsed.positionals[0]}' (options start with --)\n\n${command.usage}`);
    return ExitCode.USAGE;
  }
  try {
    return await command.run(parsed.values as Record<string, string | boolean | undefined>, parsed.positionals);
  } catch (err) {
    if ((err as { usage?: boolean }).usage) {
      console.error(`stoq ${name}: ${(err as Error).message}\n\n${command.usage}`);
      return ExitCode.USAGE;
    }
    if (err instanceof FastPathUnavailable) {
      console.error(`stoq ${name}: ${err.message}${err.cause.hint ? `\nhint: ${err.cause.hint}` : ''}`);
      return ExitCode.NO_FAST_PATH;
    }
    throw err;
  }
}

watchStdout();
main(process.argv.slice(2)).then(
  (code) => {
    // A command that stopped because stdout failed (not EPIPE) fails, whatever it returned.
    process.exitCode = stdoutFailed() && code === ExitCode.OK ? ExitCode.FAILURE : code;
  },
  (err: unknown) => {
    const e = errorText(err);
    console.error(`stoq: ${e.message}${e.code ? ` [${e.code}]` : ''}`);
    if (e.hint) console.error(`hint: ${e.hint}`);
    process.exitCode = ExitCode.FAILURE;
  },
);
