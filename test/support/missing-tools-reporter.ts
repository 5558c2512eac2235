import type { Reporter, TestModule } from 'vitest/node';
import './tools.js';

/** Ends the run with what was skipped for a missing tool, and how to install it. */
export default class MissingToolsReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const skipped = new Map<string, number>();
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const reason = test.meta().missingTools;
        if (reason !== undefined && test.result().state === 'skipped') skipped.set(reason, (skipped.get(reason) ?? 0) + 1);
      }
    }
    if (skipped.size === 0) return;
    const lines = [...skipped].map(([reason, count]) => `  ${count} ${count === 1 ? 'test' : 'tests'}: ${reason}`);
    process.stdout.write(`\nSkipped for a missing tool (install it to run them; CI=true fails instead of skipping):\n${lines.join('\n')}\n`);
  }
}
