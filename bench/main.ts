import { join, resolve } from 'node:path';
import { parseCliOptions, USAGE } from './cli-options.js';
import { ProcessGroup } from './cluster/process-group.js';
import { runBenchmark, SCENARIO_IDS } from './run-benchmark.js';
import { formatReport } from './report/table.js';
import { writeReport } from './report/write-report.js';

/** `npm run bench`: parse the options, run, print and write the report, and leave no process behind. */
async function main(): Promise<number> {
  let options;
  try {
    options = parseCliOptions(process.argv.slice(2), SCENARIO_IDS);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const outputDirectory = resolve(options.outputDirectory);
  const group = new ProcessGroup(join(outputDirectory, 'logs'));
  const interrupted = (signal: NodeJS.Signals): void => {
    process.stderr.write(`\n${signal}: stopping everything the benchmark started…\n`);
    void group.stopAll(3000).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  process.once('exit', () => group.killAllNow());

  try {
    const report = await runBenchmark(
      {
        settings: options.settings,
        scenarios: options.scenarios,
        backends: options.backends,
        clusterMasters: options.clusterMasters,
        ...(options.urls ? { urls: options.urls } : {}),
        entry: options.entry,
        build: options.build,
        ...(options.cpuProfile ? { cpuProfileDirectory: join(outputDirectory, 'profiles') } : {}),
        log: (line) => process.stdout.write(`${line}\n`),
      },
      group,
    );
    const files = await writeReport(report, outputDirectory);
    process.stdout.write(`\n${formatReport(report)}\n\nreport: ${files.json}\ncharts: ${files.charts.join(', ')}\n`);
    return report.failures.length > 0 ? 1 : 0;
  } finally {
    await group.stopAll(15_000);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
