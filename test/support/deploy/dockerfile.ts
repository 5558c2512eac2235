/** One instruction of a Dockerfile, with the build stage it belongs to. */
export interface DockerInstruction {
  readonly keyword: string;
  readonly args: string;
  readonly stage: string;
}

export interface Dockerfile {
  readonly instructions: readonly DockerInstruction[];
  /** Stage names in order (an unnamed stage is called by its index). */
  readonly stages: readonly string[];
  /** Instructions of one stage, by keyword. */
  inStage(stage: string, keyword: string): DockerInstruction[];
  /** The last stage: what the image runs. */
  readonly finalStage: string;
}

/** Parses the instruction level of a Dockerfile: comments, line continuations, stages. */
export function parseDockerfile(text: string): Dockerfile {
  const logicalLines: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    logicalLines.push(`${pending}${line}`);
    pending = '';
  }
  const instructions: DockerInstruction[] = [];
  const stages: string[] = [];
  for (const line of logicalLines) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    const upper = keyword.toUpperCase();
    if (upper === 'FROM') stages.push(/\s+AS\s+(\S+)$/i.exec(args)?.[1] ?? String(stages.length));
    instructions.push({ keyword: upper, args, stage: stages.at(-1) ?? '' });
  }
  return {
    instructions,
    stages,
    finalStage: stages.at(-1) ?? '',
    inStage: (stage, keyword) => instructions.filter((i) => i.stage === stage && i.keyword === keyword),
  };
}

/** The argument vector of an exec-form instruction (a JSON array); throws on shell form. */
export function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((part) => typeof part === 'string')) {
    throw new Error(`not an exec-form JSON array of strings: ${args}`);
  }
  return parsed;
}

/** A HEALTHCHECK's --options and its exec-form command. */
export function parseHealthcheck(args: string): { options: Record<string, string>; command: string[] } {
  const match = /^((?:--[\w-]+=\S+\s+)*)CMD\s+(\[.*\])$/.exec(args);
  if (!match) throw new Error(`HEALTHCHECK is not "[--option=value ...] CMD [exec form]": ${args}`);
  const options = Object.fromEntries(
    (match[1] ?? '')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map((option) => option.replace(/^--/, '').split('=') as [string, string]),
  );
  return { options, command: execForm(match[2]!) };
}

/**
 * Whether `.dockerignore` leaves `path` in the build context: patterns in
 * order, the last one that matches the path or one of its parents wins,
 * `!` re-includes.
 */
export function inBuildContext(dockerignore: string, path: string): boolean {
  const patterns = dockerignore
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const candidates = path.split('/').map((_part, i, parts) => parts.slice(0, i + 1).join('/'));
  let included = true;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    const glob = (negated ? pattern.slice(1) : pattern).replace(/^\/+|\/+$/g, '');
    const regex = new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*/g, '\u0000').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]').replace(/\u0000/g, '.*')}$`);
    if (candidates.some((candidate) => regex.test(candidate))) included = negated;
  }
  return included;
}
