import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchReport } from './results.js';
import { cpuChart, latencyChart, renderBarChart } from './svg-chart.js';
import { formatReport } from './table.js';

export interface WrittenFiles {
  readonly json: string;
  readonly latest: string;
  readonly text: string;
  readonly charts: readonly string[];
}

/** Writes the report as JSON (timestamped, and as latest.json), as text, and its charts as SVG. */
export async function writeReport(report: BenchReport, directory: string): Promise<WrittenFiles> {
  await mkdir(directory, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const files = {
    json: join(directory, `bench-${stamp}.json`),
    latest: join(directory, 'latest.json'),
    text: join(directory, 'latest.txt'),
    charts: [join(directory, 'latency.svg'), join(directory, 'cpu.svg')],
  };
  const subtitle = `${report.machine.cpus} cores, ${report.startedAt.slice(0, 10)}`;
  await Promise.all([
    writeFile(files.json, json),
    writeFile(files.latest, json),
    writeFile(files.text, `${formatReport(report)}\n`),
    writeFile(files.charts[0]!, renderBarChart(latencyChart(report.runs, subtitle))),
    writeFile(files.charts[1]!, renderBarChart(cpuChart(report.runs, subtitle))),
  ]);
  return files;
}
