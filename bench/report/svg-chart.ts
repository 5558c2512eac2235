import type { ScenarioRun } from './results.js';

export interface BarGroup {
  readonly label: string;
  readonly bars: readonly { readonly series: string; readonly value: number }[];
}

export interface BarChart {
  readonly title: string;
  readonly unit: string;
  readonly groups: readonly BarGroup[];
  /** A dashed reference line, e.g. a target. */
  readonly reference?: { readonly label: string; readonly value: number };
}

const COLOURS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f'];
const LABEL_WIDTH = 260;
const CHART_WIDTH = 460;
const BAR_HEIGHT = 14;
const GROUP_GAP = 12;
const TOP = 48;

/** A horizontal grouped bar chart as a standalone SVG document, values written next to the bars. */
export function renderBarChart(chart: BarChart): string {
  const series = [...new Set(chart.groups.flatMap((group) => group.bars.map((bar) => bar.series)))];
  const max = Math.max(chart.reference?.value ?? 0, ...chart.groups.flatMap((group) => group.bars.map((bar) => bar.value)), 1e-9);
  const scale = (value: number): number => (value / max) * CHART_WIDTH;
  const parts: string[] = [];
  let y = TOP;
  for (const group of chart.groups) {
    const groupHeight = group.bars.length * BAR_HEIGHT;
    parts.push(text(LABEL_WIDTH - 8, y + groupHeight / 2 + 4, group.label, 'end'));
    for (const bar of group.bars) {
      const colour = COLOURS[series.indexOf(bar.series) % COLOURS.length]!;
      const width = Math.max(1, scale(bar.value));
      parts.push(`<rect x="${LABEL_WIDTH}" y="${y}" width="${width.toFixed(1)}" height="${BAR_HEIGHT - 2}" fill="${colour}"/>`);
      parts.push(text(LABEL_WIDTH + width + 4, y + BAR_HEIGHT - 4, `${formatValue(bar.value)} ${chart.unit}`, 'start', 10));
      y += BAR_HEIGHT;
    }
    y += GROUP_GAP;
  }
  if (chart.reference) {
    const x = LABEL_WIDTH + scale(chart.reference.value);
    parts.push(`<line x1="${x.toFixed(1)}" y1="${TOP - 6}" x2="${x.toFixed(1)}" y2="${y - GROUP_GAP + 4}" stroke="#333" stroke-dasharray="4 3"/>`);
    parts.push(text(x, TOP - 10, chart.reference.label, 'middle', 10));
  }
  const legend = series.map((name, index) => {
    const x = LABEL_WIDTH + index * 90;
    return `<rect x="${x}" y="${y + 4}" width="10" height="10" fill="${COLOURS[index % COLOURS.length]}"/>${text(x + 14, y + 13, name, 'start', 11)}`;
  });
  const height = y + 28;
  const width = LABEL_WIDTH + CHART_WIDTH + 120;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    text(12, 22, chart.title, 'start', 14),
    ...parts,
    ...legend,
    '</svg>',
    '',
  ].join('\n');
}

/** Delivery latency percentiles of every run that timed its deliveries. */
export function latencyChart(runs: readonly ScenarioRun[], subtitle: string): BarChart {
  return {
    title: `Delivery latency, median of rounds (${subtitle})`,
    unit: 'ms',
    groups: runs
      .filter((run) => run.median.latency && (run.scenario === 'broadcast' || run.scenario === 'private' || run.scenario === 'mixed'))
      .map((run) => ({
        label: `${run.scenario}, ${run.backendLabel}`,
        bars: [
          { series: 'p50', value: run.median.latency!.p50Ms },
          { series: 'p95', value: run.median.latency!.p95Ms },
          { series: 'p99', value: run.median.latency!.p99Ms },
        ],
      })),
    reference: { label: 'private p99 target 10 ms', value: 10 },
  };
}

/** Server CPU (nodes + Redis) per delivered message, the figure the targets are about. */
export function cpuChart(runs: readonly ScenarioRun[], subtitle: string): BarChart {
  return {
    title: `Server CPU per delivered message, nodes + Redis (${subtitle})`,
    unit: 'µs',
    groups: runs
      .filter((run) => run.median.cpu.serverMicrosPerDelivery !== null && (run.scenario === 'broadcast' || run.scenario === 'private'))
      .map((run) => ({
        label: `${run.scenario}, ${run.backendLabel}`,
        bars: [
          { series: 'nodes', value: ((run.median.cpu.nodesMs ?? 0) * 1000) / Math.max(1, run.median.delivered) },
          { series: 'redis', value: run.median.cpu.redisMicrosPerDelivery ?? 0 },
        ],
      })),
  };
}

function text(x: number, y: number, content: string, anchor: 'start' | 'middle' | 'end', size = 12): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" text-anchor="${anchor}" font-size="${size}">${escapeXml(content)}</text>`;
}

function formatValue(value: number): string {
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

function escapeXml(value: string): string {
  return value.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}
