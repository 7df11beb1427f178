// The Kubernetes manifests (deploy/kubernetes) and the Dockerfile agree with
// the daemon: the flags parse with the real flag parser, the ConfigMap loads
// with the real config loader and the env the DaemonSet gives it, the mounts
// cover the roots and the CRI socket the configuration names, the probes hit
// routes the daemon really answers, the port is the one it listens on.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseFlags } from '../../src/cli/flags.ts';
import { parseConfig, type Config } from '../../src/components.ts';
import { DEFAULT_RUNTIME_ENDPOINT, DEFAULT_SANDBOX_ROOTS } from '../../src/receiver/config.ts';
import { startDemo } from '../../src/demo/environment.ts';
import { renderConfigMap } from '../../deploy/kubernetes/sync-configmap.ts';
import { eventually, startTestDaemon } from '../support/daemon.ts';
import { ROOT, type Obj } from './support.ts';

const DEPLOY = path.join(ROOT, 'deploy', 'kubernetes');
const read = (...p: string[]): string => readFileSync(path.join(ROOT, ...p), 'utf8');
const pkg = JSON.parse(read('package.json')) as { version: string; bin: Record<string, string> };
const kustomization = parseAllDocuments(readFileSync(path.join(DEPLOY, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as Obj;

// ---- a small typed view of the objects we check --------------------------

interface Loaded {
  readonly file: string;
  readonly obj: Obj;
}

function loadManifests(): Loaded[] {
  const out: Loaded[] = [];
  for (const file of readdirSync(DEPLOY).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort()) {
    for (const doc of parseAllDocuments(readFileSync(path.join(DEPLOY, file), 'utf8'))) {
      assert.deepEqual(doc.errors, [], `${file}: YAML errors`);
      const obj = doc.toJS() as Obj | null;
      if (obj) out.push({ file, obj });
    }
  }
  return out;
}

const manifests = loadManifests();
const one = (kind: string): Obj => {
  const found = manifests.filter((m) => m.obj.kind === kind);
  assert.equal(found.length, 1, `exactly one ${kind}`);
  return found[0]!.obj;
};
const daemonSet = one('DaemonSet');
const configMap = one('ConfigMap');
const serviceAccount = one('ServiceAccount');
const namespace = one('Namespace');
const podSpec: Obj = daemonSet.spec.template.spec;
const containers: Obj[] = podSpec.containers;
const container: Obj = containers.find((c) => c.name === 'kata-monitor')!;
const volumes = new Map<string, Obj>((podSpec.volumes as Obj[]).map((v) => [v.name, v]));

/** The value Kubernetes would put in each env var (downward API fields with sample values). */
function containerEnv(): Record<string, string> {
  const samples: Record<string, string> = {
    'spec.nodeName': 'node-7',
    'metadata.name': 'kata-monitor-x7k2p',
    'metadata.namespace': 'kata-system',
    'metadata.uid': '0b3b3c1e-7b1a-4f0e-9a52-3f1f2f7d9c11',
  };
  const env: Record<string, string> = {};
  for (const e of container.env as Obj[]) {
    if (e.value !== undefined) env[e.name] = String(e.value);
    else if (e.valueFrom?.fieldRef) {
      const v = samples[e.valueFrom.fieldRef.fieldPath];
      assert.ok(v !== undefined, `no sample for fieldRef ${e.valueFrom.fieldRef.fieldPath}`);
      env[e.name] = v;
    } else assert.fail(`env ${e.name}: unsupported source ${JSON.stringify(e.valueFrom)}`);
  }
  return env;
}

/** The daemon's configuration, resolved exactly as the container would resolve it. */
function resolvedConfig(): { config: Config; listenFlag: string; configPath: string } {
  const parsed = parseFlags(container.args as string[]);
  assert.equal(parsed.kind, 'run', `args parse: ${JSON.stringify(parsed)}`);
  if (parsed.kind !== 'run') throw new Error('unreachable');
  assert.deepEqual(parsed.flags.args, [], 'no stray arguments after the flags');
  assert.ok(parsed.explicit.has('listen-address') && parsed.explicit.has('config'));
  const configPath = parsed.flags.config!;
  const text = configMapFileFor(configPath);
  const loaded = parseConfig(text, { flags: parsed.flags, explicitFlags: parsed.explicit, env: containerEnv() });
  assert.ok(loaded.ok, `the ConfigMap's configuration loads with the DaemonSet's env: ${loaded.ok ? '' : loaded.errors.join('; ')}`);
  if (!loaded.ok) throw new Error('unreachable');
  assert.deepEqual(loaded.warnings, [], 'no configuration warnings');
  return { config: loaded.config, listenFlag: parsed.flags.listenAddress, configPath };
}

/** The ConfigMap key that the container sees at `file` (through its volume mount). */
function configMapFileFor(file: string): string {
  const mount = (container.volumeMounts as Obj[]).find((m) => path.posix.dirname(file) === m.mountPath.replace(/\/$/, ''));
  assert.ok(mount, `${file} lies in a mounted directory`);
  assert.equal(mount.readOnly, true);
  assert.equal(mount.subPath, undefined, 'a subPath mount would never see ConfigMap updates');
  const volume = volumes.get(mount.name);
  assert.equal(volume?.configMap?.name, configMap.metadata.name, `${mount.mountPath} is the ConfigMap`);
  const key = path.posix.basename(file);
  const data = configMap.data?.[key];
  assert.equal(typeof data, 'string', `the ConfigMap has the key ${key}`);
  return data as string;
}

/** The hostPath behind a container path, when it is mounted read-only from the node. */
function hostPathOf(containerPath: string): { host: string; readOnly: boolean } | undefined {
  let best: { mount: Obj; len: number } | undefined;
  for (const m of container.volumeMounts as Obj[]) {
    const mp = m.mountPath.replace(/\/$/, '');
    if ((containerPath === mp || containerPath.startsWith(mp + '/')) && (!best || mp.length > best.len)) best = { mount: m, len: mp.length };
  }
  if (!best) return undefined;
  const hp = volumes.get(best.mount.name)?.hostPath;
  if (!hp) return undefined;
  const rest = containerPath.slice(best.len);
  return { host: hp.path.replace(/\/$/, '') + rest, readOnly: best.mount.readOnly === true };
}

/**
 * The one writable hostPath: the mount holding the sending queue's
 * file_storage directory (a restart loses nothing queued). Returns its
 * container path, checked to be the same path on the node.
 */
function queueMountPath(config: Config): string {
  const storage = config.extensions.find((x) => x.type === 'file_storage');
  assert.ok(storage, 'the DaemonSet\'s configuration keeps its queue in a file_storage extension');
  const m = (container.volumeMounts as Obj[]).find((v) => storage.directory === v.mountPath.replace(/\/$/, '') || storage.directory.startsWith(v.mountPath.replace(/\/$/, '') + '/'));
  assert.ok(m, `${storage.directory} lies in a mounted directory`);
  const hp = volumes.get(m.name)?.hostPath;
  assert.ok(hp, `${m.mountPath} is a hostPath (the node's disk outlives the pod)`);
  assert.equal(hp.path.replace(/\/$/, ''), m.mountPath.replace(/\/$/, ''), 'the same path on the node');
  return m.mountPath as string;
}

const UNITS: Record<string, number> = { '': 1, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, k: 1e3, M: 1e6, G: 1e9, m: 1e-3 };
function quantity(q: string | number): number {
  const m = /^([0-9.]+)(Ki|Mi|Gi|k|M|G|m|)$/.exec(String(q));
  assert.ok(m, `quantity ${q}`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

// ---- the tests -------------------------------------------------------------

test('the manifests are well-formed, in one namespace, and kustomization lists them all', () => {
  const files = [...new Set(manifests.map((m) => m.file))];
  assert.deepEqual([...kustomization.resources].sort(), files);
  for (const { file, obj } of manifests) {
    assert.ok(obj.apiVersion && obj.kind && obj.metadata?.name, `${file}: apiVersion, kind, metadata.name`);
    if (obj.kind !== 'Namespace') assert.equal(obj.metadata.namespace, namespace.metadata.name, `${file}: ${obj.kind} namespace`);
  }
  const selector = daemonSet.spec.selector.matchLabels as Obj;
  for (const [k, v] of Object.entries(selector)) assert.equal(daemonSet.spec.template.metadata.labels[k], v, `template carries selector label ${k}`);
  assert.equal(podSpec.serviceAccountName, serviceAccount.metadata.name);
  assert.equal(serviceAccount.automountServiceAccountToken, false, 'no API token: the daemon never calls the API server');
  assert.equal(podSpec.automountServiceAccountToken, false);
  assert.equal(containers.length, 1);
});

test('the ConfigMap is config/kata-monitor.yaml, as sync-configmap.ts renders it', () => {
  const source = read('config', 'kata-monitor.yaml');
  assert.equal(configMap.data['kata-monitor.yaml'], source, 'ConfigMap data differs from config/kata-monitor.yaml: run `node deploy/kubernetes/sync-configmap.ts`');
  assert.equal(read('deploy', 'kubernetes', 'configmap.yaml'), renderConfigMap(source), 'configmap.yaml is stale: run `node deploy/kubernetes/sync-configmap.ts`');
});

test('args parse with the real flag parser; the -config file is the mounted ConfigMap and loads with the DaemonSet env', () => {
  const { config, listenFlag, configPath } = resolvedConfig();
  assert.equal(configPath, '/etc/kata-monitor/kata-monitor.yaml');
  assert.equal(listenFlag, '0.0.0.0:8090');
  // The flag wins over the file.
  assert.equal(config.receiver.server.listenAddress, listenFlag);
  assert.equal(config.telemetry.logs.encoding, 'json');
  // No ${env:...} left unexpanded anywhere.
  assert.doesNotMatch(JSON.stringify(config), /\$\{env:/);
});

test('the container port is the listen port, and the Prometheus annotations point at it and at /metrics', async (t) => {
  const { listenFlag } = resolvedConfig();
  const port = Number(listenFlag.slice(listenFlag.lastIndexOf(':') + 1));
  const ports = container.ports as Obj[];
  assert.equal(ports.length, 1);
  assert.equal(ports[0]!.containerPort, port);
  assert.equal(ports[0]!.protocol ?? 'TCP', 'TCP');
  const host = listenFlag.slice(0, listenFlag.lastIndexOf(':'));
  assert.equal(host, '0.0.0.0', 'reachable from outside the pod (the upstream default 127.0.0.1 is not)');
  const annotations = daemonSet.spec.template.metadata.annotations as Obj;
  assert.equal(annotations['prometheus.io/scrape'], 'true');
  assert.equal(annotations['prometheus.io/port'], String(port));
  assert.equal(annotations['prometheus.io/path'], '/metrics');
  assert.ok(podSpec.hostNetwork === false || podSpec.hostNetwork === undefined, 'pod network');

  // The annotated path is the daemon's metrics route.
  const demo = await startDemo({ sandboxes: 1 });
  const daemon = await startTestDaemon({ roots: demo.roots, runtimeEndpoint: demo.runtimeEndpoint });
  t.after(async () => {
    await daemon.stop();
    await demo.stop();
  });
  const res = await fetch(daemon.url + annotations['prometheus.io/path']);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  assert.match(await res.text(), /^# TYPE kata_monitor_running_shim_count gauge$/m);
});

test('liveness and readiness probes use routes the daemon answers, on the metrics port', async (t) => {
  const portName = (container.ports as Obj[])[0]!.name;
  const containerPort = (container.ports as Obj[])[0]!.containerPort;
  const live = container.livenessProbe.httpGet as Obj;
  const ready = container.readinessProbe.httpGet as Obj;
  for (const p of [live, ready]) assert.ok(p.port === portName || p.port === containerPort, `probe port ${p.port}`);
  assert.equal(live.path, '/healthz');
  assert.equal(ready.path, '/readyz');
  for (const probe of [container.livenessProbe, container.readinessProbe] as Obj[]) {
    assert.ok((probe.timeoutSeconds ?? 1) >= 1 && (probe.periodSeconds ?? 10) >= (probe.timeoutSeconds ?? 1));
  }

  const demo = await startDemo({ sandboxes: 1 });
  const daemon = await startTestDaemon({ roots: demo.roots, runtimeEndpoint: demo.runtimeEndpoint });
  t.after(async () => {
    await daemon.stop();
    await demo.stop();
  });
  // "/" answers every unclaimed path (Go's mux), so a 200 alone proves
  // nothing: the bodies must be the probes' own.
  const healthz = await fetch(daemon.url + live.path);
  assert.equal(healthz.status, 200);
  assert.equal(await healthz.text(), 'ok\n');
  const body = await eventually(async () => {
    const r = await fetch(daemon.url + ready.path);
    return r.status === 200 ? r.text() : undefined;
  }, 5000, 'readiness');
  assert.match(body, /\nready\n$/);
  assert.match(body, /^\[\+\]server ok/m);
  // A probe sends no Accept header and no credentials.
  const unknown = await (await fetch(daemon.url + '/healthzz')).text();
  assert.notEqual(unknown, 'ok\n', 'the probe path is a route of its own, not the catch-all');
});

test('the sandbox roots and the CRI socket are mounted read-only from the same host paths', () => {
  const { config } = resolvedConfig();
  const roots = config.receiver.discovery.sandboxRoots;
  assert.deepEqual([...roots], [...DEFAULT_SANDBOX_ROOTS], 'the DaemonSet uses the default roots (Go runtime, then runtime-rs)');
  for (const root of roots) {
    const hp = hostPathOf(root);
    assert.ok(hp, `${root} is mounted from the node`);
    assert.equal(hp.host, root, `${root} is the same path on the node`);
    assert.equal(hp.readOnly, true, `${root} read-only`);
  }
  for (const endpoint of [config.receiver.cri.runtimeEndpoint, DEFAULT_RUNTIME_ENDPOINT]) {
    const socket = endpoint.replace(/^unix:\/\//, '');
    assert.ok(socket.startsWith('/'), `${endpoint} is a unix socket`);
    const hp = hostPathOf(socket);
    assert.ok(hp, `${socket} lies in a mounted directory`);
    assert.equal(hp.host, socket);
    assert.equal(hp.readOnly, true);
  }
  // Every hostPath but the queue's is read-only: the daemon writes nothing else on the node.
  const queue = queueMountPath(config);
  for (const m of container.volumeMounts as Obj[]) {
    if (volumes.get(m.name)?.hostPath && m.mountPath !== queue) assert.equal(m.readOnly, true, `${m.mountPath} read-only`);
    assert.ok(volumes.has(m.name), `volume ${m.name} exists`);
  }
});

test('the downward API gives the node name, and nothing the daemon does not read', () => {
  const byName = new Map((container.env as Obj[]).map((e) => [e.name, e]));
  const field = (n: string): string | undefined => byName.get(n)?.valueFrom?.fieldRef?.fieldPath;
  assert.equal(field('K8S_NODE_NAME'), 'spec.nodeName', 'config/kata-monitor.yaml and the resource read K8S_NODE_NAME');
  const downward = [...byName.values()].filter((e) => e.valueFrom?.fieldRef).map((e) => e.name);
  assert.deepEqual(downward, ['K8S_NODE_NAME']);
  // Every variable the configuration needs without a default is set.
  const config = read('config', 'kata-monitor.yaml');
  for (const m of config.matchAll(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g)) assert.ok(byName.has(m[1]!), `${m[1]} is set`);
});

test('resources stay within 300Mi / 200m, with lower requests, and V8 heap below the limit', () => {
  const { limits, requests } = container.resources as { limits: Obj; requests: Obj };
  assert.ok(quantity(limits.memory) <= 300 * 2 ** 20, `memory limit ${limits.memory}`);
  assert.ok(quantity(limits.cpu) <= 0.2, `cpu limit ${limits.cpu}`);
  assert.ok(quantity(requests.memory) < quantity(limits.memory), 'memory request below the limit');
  assert.ok(quantity(requests.cpu) < quantity(limits.cpu), 'cpu request below the limit');
  const nodeOptions = (container.env as Obj[]).find((e) => e.name === 'NODE_OPTIONS')?.value as string | undefined;
  const heap = Number(/--max-old-space-size=(\d+)/.exec(nodeOptions ?? '')?.[1]);
  assert.ok(heap > 0 && heap * 2 ** 20 < quantity(limits.memory) * 0.75, `old space ${heap} MiB leaves room below the limit`);
  // On SIGTERM the daemon takes up to service.shutdown_timeout (final OTLP push
  // included); the kubelet must not SIGKILL it before, with a margin to exit.
  const { config } = resolvedConfig();
  assert.ok(podSpec.terminationGracePeriodSeconds * 1000 >= config.shutdownTimeoutMs + 5000, `grace ${podSpec.terminationGracePeriodSeconds} s vs shutdown ${config.shutdownTimeoutMs} ms`);
});

test('least privilege: uid 0 with no capabilities, no escalation, read-only root, RuntimeDefault seccomp, no host namespaces', () => {
  const pod = podSpec.securityContext as Obj;
  const c = container.securityContext as Obj;
  assert.equal(pod.runAsUser ?? c.runAsUser, 0, 'root-owned 0600/0660 sockets need the owner uid');
  assert.equal(c.allowPrivilegeEscalation, false);
  assert.equal(c.readOnlyRootFilesystem, true);
  assert.equal(c.privileged ?? false, false);
  assert.deepEqual(c.capabilities?.drop, ['ALL']);
  assert.equal(c.capabilities?.add, undefined);
  assert.equal((c.seccompProfile ?? pod.seccompProfile)?.type, 'RuntimeDefault');
  for (const k of ['hostNetwork', 'hostPID', 'hostIPC']) assert.ok(podSpec[k] === undefined || podSpec[k] === false, k);
  assert.ok(podSpec.hostUsers === undefined || podSpec.hostUsers === true, 'a user namespace would make uid 0 unprivileged on the node');
  // The daemon writes nothing but its sending queue and /tmp (an emptyDir).
  const queue = queueMountPath(resolvedConfig().config);
  const writable = (container.volumeMounts as Obj[]).filter((m) => m.readOnly !== true);
  assert.deepEqual(writable.map((m) => m.mountPath).sort(), [queue, '/tmp'].sort());
  assert.ok(volumes.get(writable.find((m) => m.mountPath === '/tmp')!.name)?.emptyDir, '/tmp is an emptyDir');
});

test('scheduling: Kata nodes only (kata-deploy label), tolerating their taints', () => {
  assert.equal(podSpec.nodeSelector?.['katacontainers.io/kata-runtime'], 'true');
  assert.ok((podSpec.tolerations as Obj[]).length > 0);
  assert.equal(daemonSet.spec.updateStrategy?.type ?? 'RollingUpdate', 'RollingUpdate');
});

test('the image tag is the package version; the Dockerfile ships what the daemon reads at run time', () => {
  assert.match(container.image, new RegExp(`:${pkg.version.replace(/\./g, '\\.')}$`));

  const dockerfile = read('Dockerfile');
  const stages = [...dockerfile.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)].map((m) => m[1]!);
  assert.equal(stages.length, 2, 'build and runtime stages');
  assert.match(stages[0]!, /^node:24(-|$)/);
  assert.match(stages[1]!, /^(node:24|gcr\.io\/distroless\/nodejs24)/);
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  // The entrypoint runs the compiled CLI, where package.json's bin points.
  const entry = /^ENTRYPOINT\s+(\[.*\])/m.exec(runtime);
  assert.ok(entry, 'ENTRYPOINT in exec form (signals reach node)');
  const argv = JSON.parse(entry[1]!) as string[];
  assert.equal(path.posix.relative('/app', argv[argv.length - 1]!), pkg.bin['kata-monitor']);
  assert.match(runtime, /^WORKDIR \/app$/m);
  for (const what of ['package.json', 'node_modules', 'dist', 'proto/', 'config/', 'test/fixtures/']) {
    assert.match(runtime, new RegExp(`^COPY .*${what.replace(/[./]/g, (c) => '\\' + c)}`, 'm'), `the runtime stage copies ${what}`);
  }
  assert.match(runtime, /^USER (?!0\b|root\b)\S+/m, 'the image itself runs as non-root');
  assert.match(dockerfile, /npm ci\b/);
  assert.match(dockerfile, /npm run build\b/);
  assert.match(dockerfile, /npm prune --omit=dev\b/);

  // .dockerignore keeps the build context small but never drops what is copied.
  const ignore = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  for (const p of ['node_modules', 'dist', '.git']) assert.ok(ignore.includes(p), `.dockerignore has ${p}`);
  for (const needed of ['src', 'proto', 'config', 'package.json', 'package-lock.json', 'tsconfig.json']) {
    assert.ok(!ignore.includes(needed), `.dockerignore keeps ${needed}`);
  }
  assert.ok(ignore.includes('!test/fixtures'), 'test/fixtures/ stays in the context (the demo reads it)');
});

// ---- Prometheus Operator objects, the kustomization, the runtime overlays ------

const podMonitor = one('PodMonitor');
const prometheusRule = one('PrometheusRule');
const rulesFile = parseAllDocuments(read('deploy', 'prometheus', 'kata-monitor-rules.yaml'))[0]!.toJS() as Obj;

test('the PodMonitor selects the DaemonSet\'s pods, scrapes their metrics port and path, names the job and the node as the rules and the dashboard expect', () => {
  assert.equal(podMonitor.apiVersion, 'monitoring.coreos.com/v1');
  assert.equal(podMonitor.metadata.namespace, daemonSet.metadata.namespace, 'same namespace: the default namespaceSelector is its own');
  assert.equal(podMonitor.spec.namespaceSelector, undefined);
  const podLabels = daemonSet.spec.template.metadata.labels as Obj;
  for (const [k, v] of Object.entries(podMonitor.spec.selector.matchLabels as Obj)) assert.equal(podLabels[k], v, `the pods carry ${k}=${v}`);
  assert.equal(podMonitor.spec.selector.matchExpressions, undefined);

  const endpoints = podMonitor.spec.podMetricsEndpoints as Obj[];
  assert.equal(endpoints.length, 1);
  const ep = endpoints[0]!;
  const ports = container.ports as Obj[];
  assert.ok(ports.some((p) => p.name === ep.port), `port ${ep.port} is a named container port`);
  const annotations = daemonSet.spec.template.metadata.annotations as Obj;
  assert.equal(ep.path, annotations['prometheus.io/path'], 'the same path as the annotations (the daemon\'s /metrics, checked above)');
  assert.equal(ep.scheme ?? 'http', 'http');
  const seconds = (d: string): number => Number(/^(\d+)s$/.exec(d)?.[1] ?? NaN);
  assert.ok(seconds(ep.scrapeTimeout) < seconds(ep.interval), 'scrape timeout below the interval');
  assert.ok(seconds(ep.interval) <= 60, 'the rules\' 5-10 minute windows hold several scrapes');
  assert.ok(seconds(ep.scrapeTimeout) >= 5, 'room for a 300-sandbox fan-out (shim timeout 3 s)');
  assert.notEqual(ep.honorLabels, true, 'target labels (node, namespace, pod) win');

  // The job: the rules select up{job="kata-monitor"}; jobLabel makes it the pods' label value.
  const jobs = new Set([...JSON.stringify(rulesFile).matchAll(/up\{job=\\"([^\\]+)\\"\}/g)].map((m) => m[1]));
  assert.deepEqual([...jobs], ['kata-monitor'], 'the rules name one job');
  assert.equal(podLabels[podMonitor.spec.jobLabel], 'kata-monitor', 'jobLabel gives job="kata-monitor"');
  // The node: from the pod's node name, as the dashboard's node variable and every alert's description use it.
  assert.ok(
    (ep.relabelings as Obj[]).some((r) => r.targetLabel === 'node' && (r.sourceLabels as string[]).join() === '__meta_kubernetes_pod_node_name' && (r.action ?? 'replace') === 'replace'),
    'a relabeling copies __meta_kubernetes_pod_node_name to node',
  );
});

test('the PrometheusRule is the rules file, in the DaemonSet\'s namespace', () => {
  assert.equal(prometheusRule.apiVersion, 'monitoring.coreos.com/v1');
  assert.equal(prometheusRule.metadata.namespace, daemonSet.metadata.namespace);
  assert.deepEqual(prometheusRule.spec, rulesFile, 'spec = deploy/prometheus/kata-monitor-rules.yaml (node deploy/kubernetes/sync-prometheusrule.ts)');
});

test('the kustomization sets the DaemonSet\'s image, at the package version', () => {
  const image = container.image as string;
  const name = image.slice(0, image.lastIndexOf(':'));
  const images = kustomization.images as Obj[];
  assert.ok(Array.isArray(images) && images.length === 1, 'one images: entry');
  assert.equal(images[0]!.name, name, 'it matches the DaemonSet\'s image name, so kustomize rewrites it');
  assert.equal(images[0]!.newTag, pkg.version);
  assert.ok(images[0]!.newName, 'newName: the place to put your registry');
});

// A strategic merge patch, as kustomize applies one to a DaemonSet: maps merge,
// lists of containers/env/volumes merge by name and volumeMounts by
// mountPath, `$patch: delete` removes the matching item.
const MERGE_KEYS: Record<string, string> = { containers: 'name', env: 'name', volumes: 'name', volumeMounts: 'mountPath' };
function strategicMerge(base: unknown, patch: unknown, key = ''): unknown {
  if (Array.isArray(patch) && Array.isArray(base) && MERGE_KEYS[key]) {
    const k = MERGE_KEYS[key]!;
    let out = [...(base as Obj[])];
    for (const item of patch as Obj[]) {
      const i = out.findIndex((b) => b[k] === item[k]);
      if (item.$patch === 'delete') out = out.filter((b) => b[k] !== item[k]);
      else if (i >= 0) out[i] = strategicMerge(out[i], item) as Obj;
      else out.push(item);
    }
    return out;
  }
  if (patch && typeof patch === 'object' && !Array.isArray(patch) && base && typeof base === 'object' && !Array.isArray(base)) {
    const out: Obj = { ...(base as Obj) };
    for (const [k, v] of Object.entries(patch as Obj)) out[k] = k in out ? strategicMerge(out[k], v, k) : v;
    return out;
  }
  return patch;
}

const OVERLAYS = path.join(ROOT, 'deploy', 'overlays');
const overlay = (name: string): Obj => parseAllDocuments(readFileSync(path.join(OVERLAYS, name, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as Obj;

for (const [name, socket] of [
  ['crio', '/var/run/crio/crio.sock'],
  ['k3s', '/run/k3s/containerd/containerd.sock'],
] as const) {
  test(`deploy/overlays/${name}: the CRI socket ${socket} is mounted read-only from the same host path and named by RUNTIME_ENDPOINT`, () => {
    const k = overlay(name);
    assert.deepEqual(k.resources, ['../../kubernetes']);
    const patches = (k.patches as Obj[]).map((p) => parseAllDocuments(p.patch as string)[0]!.toJS() as Obj);
    let ds: Obj = daemonSet;
    for (const p of patches) {
      assert.equal(p.kind, 'DaemonSet');
      assert.equal(p.metadata.name, daemonSet.metadata.name);
      ds = strategicMerge(ds, p) as Obj;
    }
    const c = (ds.spec.template.spec.containers as Obj[]).find((x) => x.name === container.name)!;
    const vols = new Map<string, Obj>((ds.spec.template.spec.volumes as Obj[]).map((v) => [v.name, v]));
    const endpoint = (c.env as Obj[]).find((e) => e.name === 'RUNTIME_ENDPOINT')?.value as string;
    assert.equal(endpoint, `unix://${socket}`);
    // The ConfigMap reads RUNTIME_ENDPOINT: the daemon asks that socket.
    assert.match(configMap.data['kata-monitor.yaml'], /runtime_endpoint: \$\{env:RUNTIME_ENDPOINT:-/);
    const mount = (c.volumeMounts as Obj[]).find((m) => socket.startsWith(m.mountPath.replace(/\/$/, '') + '/'));
    assert.ok(mount, `${socket} lies in a mounted directory`);
    assert.equal(mount.readOnly, true);
    assert.equal(vols.get(mount.name)?.hostPath?.path, path.posix.dirname(socket), 'from the same directory on the node');
    // containerd's directory is no longer mounted, every mount has its volume, every hostPath but the queue's is read-only.
    assert.ok(!(c.volumeMounts as Obj[]).some((m) => m.mountPath === '/run/containerd'), 'no /run/containerd mount left');
    const queue = queueMountPath(resolvedConfig().config);
    for (const m of c.volumeMounts as Obj[]) {
      assert.ok(vols.has(m.name), `volume ${m.name}`);
      if (vols.get(m.name)!.hostPath && m.mountPath !== queue) assert.equal(m.readOnly, true, `${m.mountPath} read-only`);
    }
    assert.equal(new Set((c.volumeMounts as Obj[]).map((m) => m.mountPath)).size, (c.volumeMounts as Obj[]).length, 'no mount path twice');
  });
}

test('deploy/overlays/no-prometheus-operator: the base without the PodMonitor and the PrometheusRule', () => {
  const k = overlay('no-prometheus-operator');
  assert.deepEqual(k.resources, ['../../kubernetes']);
  const deleted = (k.patches as Obj[]).map((p) => parseAllDocuments(p.patch as string)[0]!.toJS() as Obj);
  assert.deepEqual(deleted.map((d) => [d.$patch, d.kind, d.metadata.name, d.metadata.namespace]).sort(), [
    ['delete', 'PodMonitor', podMonitor.metadata.name, podMonitor.metadata.namespace],
    ['delete', 'PrometheusRule', prometheusRule.metadata.name, prometheusRule.metadata.namespace],
  ]);
});

// kubectl's built-in kustomize renders them for real where it is installed
// (optional: CI does not install it, the checks above stand without it).
const KUBECTL = ['/usr/bin/kubectl', '/usr/local/bin/kubectl'].find((f) => existsSync(f));
test('kubectl kustomize renders the base and every overlay', { skip: KUBECTL ? false : 'kubectl not installed (optional)', timeout: 60_000 }, () => {
  const render = (dir: string): Obj[] => {
    const out = execFileSync(KUBECTL!, ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return parseAllDocuments(out).map((d) => d.toJS() as Obj);
  };
  const kinds = (objs: Obj[]): string[] => objs.map((o) => o.kind).sort();
  const base = render(DEPLOY);
  assert.deepEqual(kinds(base), ['ConfigMap', 'DaemonSet', 'Namespace', 'PodMonitor', 'PrometheusRule', 'ServiceAccount']);
  assert.match(base.find((o) => o.kind === 'DaemonSet')!.spec.template.spec.containers[0].image, new RegExp(`:${pkg.version.replace(/\./g, '\\.')}$`));
  assert.deepEqual(kinds(render(path.join(OVERLAYS, 'no-prometheus-operator'))), ['ConfigMap', 'DaemonSet', 'Namespace', 'ServiceAccount']);
  for (const [name, dir] of [['crio', '/var/run/crio'], ['k3s', '/run/k3s/containerd']] as const) {
    const ds = render(path.join(OVERLAYS, name)).find((o) => o.kind === 'DaemonSet')!;
    const spec = ds.spec.template.spec as Obj;
    assert.deepEqual(
      (spec.containers[0].volumeMounts as Obj[]).filter((m) => m.name === 'cri-socket'),
      [{ name: 'cri-socket', mountPath: dir, readOnly: true }],
      name,
    );
    assert.equal((spec.volumes as Obj[]).find((v) => v.name === 'cri-socket')?.hostPath.path, dir, name);
  }
});
