#!/usr/bin/env node
import WebSocket from 'ws';
import { runChat, EXIT_FAILURE } from './chat-command.js';
import { parseCliArgs, USAGE } from './cli-args.js';
import { chooseStyle } from './style.js';

const EXIT_USAGE = 2;

/** The `charla` command: a terminal client for a Charla node. */
async function main(): Promise<number> {
  const request = parseCliArgs(process.argv.slice(2));
  switch (request.kind) {
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    case 'usage-error':
      process.stderr.write(`charla: ${request.message}\n\n${USAGE}\n`);
      return EXIT_USAGE;
    case 'chat': {
      const stop = new AbortController();
      process.once('SIGTERM', () => stop.abort());
      const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true;
      return runChat({
        name: request.name,
        urls: request.urls,
        streams: { input: process.stdin, output: process.stdout, interactive },
        style: chooseStyle(process.stdout.isTTY === true, process.env['NO_COLOR']),
        WebSocket,
        stop: stop.signal,
      });
    }
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`charla: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = EXIT_FAILURE;
  },
);
