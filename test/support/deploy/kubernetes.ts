import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import ts from 'typescript';
import { parseYamlStream, PROJECT_ROOT, readRepoFile, repoPath } from './repo-files.js';

export type Manifest = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
};

export function manifestName(manifest: Manifest): string {
  return `${manifest.kind}/${manifest.metadata.name}`;
}

/** `kubectl kustomize DIR`: the manifests a `kubectl apply -k DIR` would send. */
export async function renderKustomization(relativeDir: string): Promise<Manifest[]> {
  const { stdout } = await promisify(execFile)('kubectl', ['kustomize', repoPath(relativeDir)], { encoding: 'utf8' });
  return parseYamlStream(stdout) as Manifest[];
}

/** "apps/v1" → "apps/v1", "v1" (the core group) → "v1": the kubernetes-models module folder. */
function modelModule(manifest: Manifest): string {
  return `kubernetes-models/${manifest.apiVersion}/${manifest.kind}`;
}

/**
 * Problems found by the Kubernetes OpenAPI schemas (kubernetes-models'
 * validators): types, formats, enums, required fields.
 */
export async function schemaErrors(manifest: Manifest): Promise<string[]> {
  let model: { new (data: unknown): { validate(): void } };
  try {
    model = ((await import(modelModule(manifest))) as Record<string, typeof model>)[manifest.kind]!;
  } catch {
    return [`${manifestName(manifest)}: no schema for ${manifest.apiVersion} ${manifest.kind}`];
  }
  try {
    new model(manifest).validate();
    return [];
  } catch (err) {
    return [`${manifestName(manifest)}: ${err instanceof Error ? err.message : String(err)}`];
  }
}

/**
 * Fields the API server does not know. The OpenAPI schemas allow any extra
 * field, but `kubectl apply` rejects them (strict field validation), so
 * each manifest is type-checked as an object literal of its kubernetes-models
 * type, where TypeScript's excess-property check names every unknown field.
 */
export function unknownFieldErrors(manifests: readonly Manifest[]): string[] {
  const fileName = join(PROJECT_ROOT, '__rendered_manifests__.ts');
  const starts: number[] = [];
  let source = '';
  manifests.forEach((manifest, i) => {
    source += `import type { I${manifest.kind} as Model${i} } from '${modelModule(manifest)}';\n`;
  });
  manifests.forEach((manifest, i) => {
    starts.push(source.length);
    source += `export const manifest${i}: Model${i} = ${JSON.stringify(manifest, null, 1)};\n`;
  });
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    // The smallest standard library that has the utility types the models use.
    lib: ['lib.es5.d.ts'],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  };
  const host = ts.createCompilerHost(options);
  const readSource = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (name, language, ...rest) =>
    name === fileName ? ts.createSourceFile(name, source, language) : readSource(name, language, ...rest);
  host.fileExists = (name) => name === fileName || fileExists(name);
  const program = ts.createProgram([fileName], options, host);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const at = diagnostic.start ?? 0;
    const index = starts.filter((start) => start <= at).length - 1;
    const owner = index >= 0 ? manifestName(manifests[index]!) : 'imports';
    return `${owner}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`;
  });
}

/* Typed views of the few fields the tests read. */
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } };
}
export interface HttpProbe {
  httpGet?: { path: string; port: number | string };
}
export interface Container {
  name: string;
  image: string;
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string; optional?: boolean } }[];
  readinessProbe?: HttpProbe;
  livenessProbe?: HttpProbe;
  startupProbe?: HttpProbe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
  securityContext?: SecurityContext & { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; privileged?: boolean; capabilities?: { drop?: string[]; add?: string[] } };
}
export interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  seccompProfile?: { type: string };
}
export interface PodSpec {
  containers: Container[];
  terminationGracePeriodSeconds?: number;
  securityContext?: SecurityContext;
  volumes?: Record<string, unknown>[];
  affinity?: { podAntiAffinity?: Record<string, { podAffinityTerm?: { labelSelector: { matchLabels: Record<string, string> } }; labelSelector?: { matchLabels: Record<string, string> } }[]> };
}
export interface Workload extends Manifest {
  spec: { replicas?: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec } };
}

export function find<T extends Manifest = Manifest>(manifests: readonly Manifest[], kind: string, name: string): T | undefined {
  return manifests.find((m) => m.kind === kind && m.metadata.name === name) as T | undefined;
}

/** True when every label of `selector` is on `labels`. */
export function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

/**
 * The environment a container would start with: its ConfigMaps and Secrets
 * (from `manifests`, or from `externalSecrets` for those the operator
 * creates), literal values, and field references resolved for `podName`.
 */
export function containerEnvironment(
  manifests: readonly Manifest[],
  container: Container,
  podName: string,
  externalSecrets: Record<string, Record<string, string>> = {},
): Record<string, string> {
  const configMap = (name: string): Record<string, string> => {
    const found = find<Manifest & { data?: Record<string, string> }>(manifests, 'ConfigMap', name);
    if (!found) throw new Error(`ConfigMap ${name} is not in the manifests`);
    return found.data ?? {};
  };
  const secret = (name: string, optional = false): Record<string, string> => {
    const found = find<Manifest & { data?: Record<string, string> }>(manifests, 'Secret', name);
    if (found) return Object.fromEntries(Object.entries(found.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
    const external = externalSecrets[name];
    if (external) return external;
    if (optional) return {};
    throw new Error(`Secret ${name} is neither in the manifests nor expected from the operator`);
  };
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef) Object.assign(env, configMap(source.configMapRef.name));
    if (source.secretRef) Object.assign(env, secret(source.secretRef.name, source.secretRef.optional));
  }
  const fields: Record<string, string> = { 'metadata.name': podName };
  for (const variable of container.env ?? []) {
    const from = variable.valueFrom;
    const value =
      variable.value ??
      (from?.fieldRef && fields[from.fieldRef.fieldPath]) ??
      (from?.secretKeyRef && secret(from.secretKeyRef.name)[from.secretKeyRef.key]) ??
      (from?.configMapKeyRef && configMap(from.configMapKeyRef.name)[from.configMapKeyRef.key]);
    if (value === undefined) throw new Error(`cannot resolve env ${variable.name}`);
    env[variable.name] = value;
  }
  return env;
}

/** The resources a kustomization lists, read as they are written (no kustomize). */
export function kustomizationResources(relativeDir: string): { file: string; manifests: Manifest[] }[] {
  const kustomization = parseYamlStream(readRepoFile(join(relativeDir, 'kustomization.yaml')))[0] as { resources?: string[] };
  return (kustomization.resources ?? [])
    .filter((resource) => /\.ya?ml$/.test(resource))
    .map((resource) => {
      const file = join(relativeDir, resource);
      return { file, manifests: parseYamlStream(readRepoFile(file)) as Manifest[] };
    });
}
