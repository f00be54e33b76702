import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { parseAllDocuments } from 'yaml';
import { loadSettings } from '../common/config/load-settings.js';
import { DEFAULT_CONFIG_PATH, DEFAULTS, type FlowSettings } from '../common/config/settings.js';
import { SHUTDOWN_GRACE_SECONDS } from '../worker/node-worker.js';
import {
  PROCESS_VARIABLES,
  SETTING_OF_VARIABLE,
  repoPath,
  repoText,
} from './support/worker-variables.js';

// Neither a Kubernetes cluster nor systemd runs here. The deployment files are checked against
// the worker's code instead: its settings loader and defaults, its drain time, its build output.

const INSTALL_DIR = '/opt/cocoon-flow/';
const NODE_LABEL = 'cocoonstack.io/cocoon-node';

/** Fails unless every variable is one loadSettings reads, and each lands where it should. */
async function assertSettingsMatch(
  environment: Record<string, string>,
  settings: FlowSettings,
  where: string
): Promise<void> {
  const loaderSource = await repoText('common/config/load-settings.ts');
  for (const [key, value] of Object.entries(environment)) {
    if (key in PROCESS_VARIABLES) {
      assert.equal(value, PROCESS_VARIABLES[key], `${where}: ${key}`);
      continue;
    }
    const setting = SETTING_OF_VARIABLE[key];
    assert.ok(setting, `${where}: ${key} is not a variable the worker reads`);
    assert.ok(loaderSource.includes(`env.${key}`), `${where}: loadSettings reads ${key}`);
    assert.equal(setting(settings), value, `${where}: ${key}`);
  }
}

function onPath(program: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(join(dir, program)));
}

function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

let scratch: string;

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'cocoon-flow-deploy-'));
});

after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

let configFiles = 0;

/** loadSettings with `config` as its config file; the host's own file must not leak in. */
async function settingsFrom(config: string, environment: Record<string, string>) {
  configFiles += 1;
  const path = join(scratch, `config-${configFiles}.json`);
  await writeFile(path, config);
  return loadSettings({}, { ...environment, COCOON_FLOW_CONFIG: path });
}

// ---------------------------------------------------------------------------------------------

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath?: string } };
}

interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}

interface Volume {
  name: string;
  hostPath?: { path: string };
  configMap?: { name: string };
}

interface Container {
  image: string;
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  securityContext?: { privileged?: boolean };
  resources?: { requests?: Record<string, string> };
  volumeMounts?: VolumeMount[];
}

interface PodSpec {
  nodeSelector?: Record<string, string>;
  hostNetwork?: boolean;
  hostPID?: boolean;
  dnsPolicy?: string;
  terminationGracePeriodSeconds?: number;
  containers: Container[];
  volumes?: Volume[];
}

interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string };
  data?: Record<string, string>;
  spec?: { template: { metadata: { annotations?: Record<string, string> }; spec: PodSpec } };
}

async function manifests(): Promise<Manifest[]> {
  const documents = parseAllDocuments(await repoText('deploy/kubernetes/daemonset.yaml'));
  assert.ok(Array.isArray(documents), 'the file holds YAML documents');
  for (const document of documents) assert.deepEqual(document.errors, []);
  return documents.map((document) => document.toJS() as Manifest).filter(Boolean);
}

async function daemonSet() {
  const all = await manifests();
  const found = all.find((manifest) => manifest.kind === 'DaemonSet');
  assert.ok(found?.spec, 'a DaemonSet');
  const pod = found.spec.template.spec;
  const container = pod.containers[0];
  assert.ok(container, 'a container');
  return {
    all,
    daemonSet: found,
    pod,
    container,
    annotations: found.spec.template.metadata.annotations ?? {},
  };
}

/** The ConfigMap's config.json, checked to be the file mounted where the worker looks. */
async function mountedConfig(): Promise<string> {
  const { all, pod, container } = await daemonSet();
  const configFile = posix.basename(DEFAULT_CONFIG_PATH);
  const mount = container.volumeMounts?.find(
    (m) => m.mountPath === posix.dirname(DEFAULT_CONFIG_PATH)
  );
  assert.ok(mount, `a volume is mounted at ${posix.dirname(DEFAULT_CONFIG_PATH)}`);
  const mapName = pod.volumes?.find((volume) => volume.name === mount.name)?.configMap?.name;
  const configMap = all.find((m) => m.kind === 'ConfigMap' && m.metadata.name === mapName);
  const text = configMap?.data?.[configFile];
  assert.ok(text, `ConfigMap ${mapName} holds ${configFile}`);
  return text;
}

/** The pod's environment, the downward API's node name replaced by a sample one. */
function podEnvironment(container: Container, nodeName: string): Record<string, string> {
  return Object.fromEntries(
    (container.env ?? []).map((variable) => {
      if (variable.value !== undefined) return [variable.name, variable.value];
      assert.equal(variable.valueFrom?.fieldRef?.fieldPath, 'spec.nodeName', variable.name);
      return [variable.name, nodeName];
    })
  );
}

describe('deploy/kubernetes/daemonset.yaml', () => {
  test('holds a ConfigMap and a DaemonSet, in no fixed namespace', async () => {
    const all = await manifests();

    assert.deepEqual(all.map((m) => m.kind).sort(), ['ConfigMap', 'DaemonSet']);
    for (const manifest of all) assert.equal(manifest.metadata.namespace, undefined);
  });

  test('runs only on nodes labelled as cocoon hosts', async () => {
    const { pod } = await daemonSet();
    const guide = await repoText('deploy/README.md');

    assert.equal(pod.nodeSelector?.[NODE_LABEL], 'true');
    assert.ok(guide.includes(`${NODE_LABEL}=true`), 'deploy/README.md tells how to label a node');
  });

  test('names the worker after its Kubernetes node, through the downward API', async () => {
    const { container } = await daemonSet();
    const node = container.env?.find((variable) => variable.name === 'COCOON_FLOW_NODE');

    assert.equal(node?.value, undefined);
    assert.equal(node?.valueFrom?.fieldRef?.fieldPath, 'spec.nodeName');
  });

  test("is privileged, in the host's network and PID namespace", async () => {
    const { pod, container } = await daemonSet();

    assert.equal(pod.hostNetwork, true);
    assert.equal(pod.hostPID, true);
    assert.equal(container.securityContext?.privileged, true);
    // With host networking only this policy resolves the cluster's Services.
    assert.equal(pod.dnsPolicy, 'ClusterFirstWithHostNet');
  });

  test("its settings load through the worker's loader and say what the files say", async () => {
    const { container } = await daemonSet();
    const config = await mountedConfig();
    const environment = podEnvironment(container, 'k8s-node-7');
    const settings = await settingsFrom(config, environment);
    const file = JSON.parse(config) as { temporal: { address: string }; registries: string[] };

    await assertSettingsMatch(environment, settings, 'DaemonSet');
    assert.equal(settings.node, 'k8s-node-7');
    assert.equal(settings.temporal.address, file.temporal.address);
    assert.deepEqual(settings.registries, file.registries);
  });

  test('mounts the directories the worker opens, at the paths they have on the host', async () => {
    const { pod, container } = await daemonSet();
    const settings = await settingsFrom(await mountedConfig(), podEnvironment(container, 'n'));
    const hostMounts = (container.volumeMounts ?? []).flatMap((mount) => {
      const hostPath = pod.volumes?.find((volume) => volume.name === mount.name)?.hostPath?.path;
      return hostPath ? [{ ...mount, hostPath }] : [];
    });

    // The worker hands these paths to cocoon, which runs on the host and sees the host's.
    for (const path of [settings.cocoon.rootDir, settings.cocoon.runDir, settings.ledgerDir]) {
      const mount = hostMounts.find(
        (m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`)
      );
      assert.ok(mount, `${path} is inside a host mount`);
      assert.equal(mount.hostPath, mount.mountPath, `${path} keeps its host path`);
      assert.notEqual(mount.readOnly, true, `${path} is writable`);
    }
    // Nothing changed the defaults, so these are the paths a systemd worker uses too.
    assert.equal(settings.cocoon.rootDir, DEFAULTS.rootDir);
    assert.equal(settings.ledgerDir, DEFAULTS.ledgerDir);
  });

  test('declares the metrics port the worker listens on, for Prometheus', async () => {
    const { container, annotations } = await daemonSet();
    const settings = await settingsFrom(await mountedConfig(), podEnvironment(container, 'n'));
    const port = portOf(settings.metricsAddress);

    assert.equal(settings.metricsAddress, DEFAULTS.metricsAddress);
    assert.equal(container.ports?.find((p) => p.name === 'metrics')?.containerPort, port);
    assert.equal(annotations['prometheus.io/scrape'], 'true');
    assert.equal(annotations['prometheus.io/port'], String(port));
    assert.equal(annotations['prometheus.io/path'], '/metrics');
  });

  test("waits longer than the worker's graceful drain before killing it", async () => {
    const { pod } = await daemonSet();
    assert.ok((pod.terminationGracePeriodSeconds ?? 30) > SHUTDOWN_GRACE_SECONDS);
  });

  test('requests resources, and runs an image that must be built', async () => {
    const { container } = await daemonSet();
    const { version } = JSON.parse(await repoText('package.json')) as { version: string };

    assert.ok(container.resources?.requests?.cpu, 'a CPU request');
    assert.ok(container.resources?.requests?.memory, 'a memory request');
    assert.ok(container.image.endsWith(`/cocoon-flow:${version}`), container.image);
  });

  test('gives the worker the cocoon wrapper that the image installs', async () => {
    const { container } = await daemonSet();
    const binary = container.env?.find((v) => v.name === 'COCOON_FLOW_COCOON_BINARY')?.value;
    const dockerfile = await repoText('deploy/Dockerfile');
    const installed = /^COPY\s.*deploy\/cocoon-on-host\.sh\s+(\S+)\s*$/m.exec(dockerfile)?.[1];

    assert.ok(binary, 'COCOON_FLOW_COCOON_BINARY is set');
    assert.equal(binary, installed);
  });
});

// ---------------------------------------------------------------------------------------------

describe('deploy/Dockerfile', () => {
  async function instructions(): Promise<string[]> {
    return (await repoText('deploy/Dockerfile'))
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'));
  }

  test('builds on a pinned Node.js that satisfies the package engines', async () => {
    const bases = (await instructions()).filter((line) => line.startsWith('FROM '));
    const { engines } = JSON.parse(await repoText('package.json')) as {
      engines: { node: string };
    };
    const minimum = /^>=(\d+\.\d+\.\d+)$/.exec(engines.node)?.[1];
    assert.ok(minimum, `engines.node ${engines.node} is a >= range`);

    assert.ok(bases.length > 0);
    for (const base of bases) {
      const version = /^FROM node:(\d+)\.(\d+)\.(\d+)-[a-z-]+(\s|$)/.exec(base);
      assert.ok(version, `${base} pins an exact Node.js version`);
      const [major, minor, patch] = version.slice(1, 4).map(Number) as [number, number, number];
      const [wantMajor, wantMinor, wantPatch] = minimum.split('.').map(Number) as [
        number,
        number,
        number,
      ];
      const atLeast =
        major !== wantMajor
          ? major > wantMajor
          : minor !== wantMinor
            ? minor > wantMinor
            : patch >= wantPatch;
      assert.ok(atLeast, `${base} satisfies ${engines.node}`);
    }
  });

  test('copies every source directory the build compiles, and the ignore file lets it', async () => {
    const lines = await instructions();
    const ignored = await repoText('deploy/Dockerfile.dockerignore');
    const { include } = JSON.parse(await repoText('tsconfig.json')) as { include: string[] };
    const sources = lines
      .filter((line) => line.startsWith('COPY ') && !line.includes('--from='))
      .flatMap((line) => line.split(/\s+/).slice(1, -1))
      .filter((word) => !word.startsWith('--'));

    // The tests, the demo and the benchmarks are compiled in a checkout, not part of the image.
    for (const dir of include.filter((dir) => !['test', 'demo', 'bench'].includes(dir))) {
      assert.ok(sources.includes(dir), `the Dockerfile copies ${dir}`);
    }
    for (const source of sources) {
      assert.ok(ignored.split('\n').includes(`!${source}`), `the ignore file lets ${source} in`);
    }
  });

  test('starts the built CLI, and installs the cocoon wrapper executable', async () => {
    const lines = await instructions();
    const entrypoint = JSON.parse(
      lines.find((line) => line.startsWith('ENTRYPOINT '))?.slice('ENTRYPOINT '.length) ?? '[]'
    ) as string[];
    const script = entrypoint[1] ?? '';

    const { bin } = JSON.parse(await repoText('package.json')) as { bin: Record<string, string> };

    assert.equal(entrypoint[0], 'node');
    assert.ok(script.startsWith(INSTALL_DIR), script);
    const relative = script.slice(INSTALL_DIR.length);
    assert.equal(relative, bin['cocoon-flow'], 'the package bin');
    assert.ok(existsSync(repoPath(relative)), `the build has ${relative}`);
    assert.ok(lines.includes('CMD ["worker"]'));
    assert.ok(
      lines.some((l) => /^COPY --chmod=0?755 deploy\/cocoon-on-host\.sh \S+$/.test(l)),
      'cocoon-on-host.sh is installed executable'
    );
  });
});

describe('deploy/cocoon-on-host.sh', () => {
  // A stand-in nsenter records what the wrapper hands it, and from which process.
  async function runWrapper(args: string[]) {
    const bin = await mkdtemp(join(scratch, 'bin-'));
    await writeFile(
      join(bin, 'nsenter'),
      '#!/bin/sh\necho "pid=$$"\nfor arg in "$@"; do echo "arg=$arg"; done\n',
      { mode: 0o755 }
    );
    const wrapper = execa('/bin/sh', [repoPath('deploy/cocoon-on-host.sh'), ...args], {
      env: { PATH: `${bin}:/usr/bin:/bin` },
    });
    const lines = (await wrapper).stdout.split('\n');
    return {
      shellPid: wrapper.pid,
      nsenterPid: Number(lines.find((l) => l.startsWith('pid='))?.slice(4)),
      argv: lines.filter((l) => l.startsWith('arg=')).map((l) => l.slice(4)),
    };
  }

  test("runs the worker's default cocoon in init's namespaces, arguments intact", async () => {
    const { argv } = await runWrapper(['vm', 'clone', 'a snapshot']);
    const separator = argv.indexOf('--');
    const options = argv.slice(0, separator);

    assert.deepEqual(argv.slice(separator + 1), [
      DEFAULTS.cocoonBinary,
      'vm',
      'clone',
      'a snapshot',
    ]);
    assert.deepEqual(options.slice(0, 2), ['--target', '1']);
    for (const namespace of ['--mount', '--net', '--cgroup']) {
      assert.ok(options.includes(namespace), `enters ${namespace}`);
    }
  });

  test('keeps the pid, which the worker records in its ledger', async () => {
    const { shellPid, nsenterPid, argv } = await runWrapper(['vm', 'list']);

    assert.equal(nsenterPid, shellPid, 'nsenter replaced the shell');
    // Entering a PID namespace, or --fork, would put cocoon in a child with another pid.
    for (const option of ['--pid', '-p', '--fork', '-f']) assert.ok(!argv.includes(option), option);
  });
});

// ---------------------------------------------------------------------------------------------

type UnitFile = Map<string, Map<string, string[]>>;

/** Just enough of systemd's unit syntax: sections, `Key=value` lines, comments. */
function parseUnit(text: string): UnitFile {
  const sections: UnitFile = new Map();
  let current: Map<string, string[]> | undefined;
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    assert.ok(!line.endsWith('\\'), `line ${index + 1}: continuation lines are not supported`);

    const section = /^\[([A-Za-z]+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1] ?? '', current);
      continue;
    }
    const equals = line.indexOf('=');
    assert.ok(current && equals > 0, `line ${index + 1} is a key=value in a section: ${line}`);
    const key = line.slice(0, equals).trim();
    current.set(key, [...(current.get(key) ?? []), line.slice(equals + 1).trim()]);
  }
  return sections;
}

/** systemd time spans as this unit writes them: seconds, bare or with `s`. */
function seconds(span: string | undefined): number {
  const match = /^(\d+)s?$/.exec(span ?? '');
  assert.ok(match, `${span} is a time span in seconds`);
  return Number(match[1]);
}

describe('deploy/systemd', () => {
  const UNIT = 'deploy/systemd/cocoon-flow-worker.service';

  async function unit() {
    const sections = parseUnit(await repoText(UNIT));
    const value = (section: string, key: string) => sections.get(section)?.get(key)?.at(-1);
    const values = (section: string, key: string) =>
      (sections.get(section)?.get(key) ?? []).flatMap((v) => v.split(/\s+/));
    return { sections, value, values };
  }

  test('the unit has the sections systemd needs to start it at boot', async () => {
    const { sections, value } = await unit();

    assert.deepEqual([...sections.keys()], ['Unit', 'Service', 'Install']);
    assert.equal(value('Install', 'WantedBy'), 'multi-user.target');
  });

  test('runs the built CLI as root, from where the guide installs it', async () => {
    const { value } = await unit();
    const [node, script = '', ...args] = (value('Service', 'ExecStart') ?? '').split(/\s+/);
    const { bin } = JSON.parse(await repoText('package.json')) as { bin: Record<string, string> };

    assert.ok(node?.startsWith('/'), `${node} is an absolute path`);
    assert.ok(script.startsWith(INSTALL_DIR), `${script} is under ${INSTALL_DIR}`);
    const relative = script.slice(INSTALL_DIR.length);
    assert.equal(relative, bin['cocoon-flow'], 'the package bin');
    assert.ok(existsSync(repoPath(relative)), `the build has ${relative}`);
    assert.deepEqual(args, ['worker']);
    assert.equal(value('Service', 'User'), 'root');
  });

  test('reads the optional worker.env and starts once the network is up', async () => {
    const { value, values } = await unit();

    assert.equal(value('Service', 'EnvironmentFile'), '-/etc/cocoon-flow/worker.env');
    assert.ok(values('Unit', 'After').includes('network-online.target'));
    assert.ok(values('Unit', 'Wants').includes('network-online.target'));
  });

  test('stops the worker with SIGTERM and waits longer than its graceful drain', async () => {
    const { value } = await unit();

    assert.equal(value('Service', 'KillSignal'), 'SIGTERM');
    assert.ok(seconds(value('Service', 'TimeoutStopSec')) > SHUTDOWN_GRACE_SECONDS);
  });

  test('signals only the worker, so a running `vm clone` outlives a restart', async () => {
    const { value } = await unit();
    // control-group would SIGTERM the detached clone, mixed would SIGKILL it after the worker.
    assert.equal(value('Service', 'KillMode'), 'process');
  });

  test('restarts the worker after it exits', async () => {
    const { value } = await unit();

    assert.ok(['always', 'on-failure'].includes(value('Service', 'Restart') ?? ''));
    assert.ok(seconds(value('Service', 'RestartSec')) > 0);
  });

  test("gives the service no namespace of its own: cocoon must see the host's", async () => {
    const { sections } = await unit();
    const service = sections.get('Service') ?? new Map<string, string[]>();
    const isolating = [
      'PrivateTmp',
      'PrivateDevices',
      'PrivateNetwork',
      'PrivateMounts',
      'ProtectSystem',
      'ProtectHome',
      'RootDirectory',
      'NetworkNamespacePath',
    ];
    for (const key of isolating) assert.ok(!service.has(key), `${key} is not set`);
  });

  // .ci/run installs systemd for this; a machine without it fails here rather than skipping.
  test('systemd-analyze verify accepts the unit', async () => {
    assert.ok(onPath('systemd-analyze'), 'systemd-analyze is installed (Debian package systemd)');
    // verify checks that ExecStart's program exists; the test's own node stands in for
    // /usr/bin/node, which a developer's machine may not have.
    const { value } = await unit();
    const node = (value('Service', 'ExecStart') ?? '').split(/\s+/)[0] ?? '';
    const copy = join(scratch, 'cocoon-flow-worker.service');
    await copyFile(repoPath(UNIT), copy);
    await writeFile(copy, (await readFile(copy, 'utf8')).replace(node, process.execPath));

    const result = await execa('systemd-analyze', ['verify', '--man=no', copy], {
      reject: false,
    });

    assert.equal(result.exitCode, 0, result.stderr);
    // Unknown keys and bad values are only warned about, on stderr.
    assert.equal(result.stderr.trim(), '');
  });

  test('worker.env.example: every variable is read by the worker, and its value loads', async () => {
    const text = await repoText('deploy/systemd/worker.env.example');
    const assignments = [...text.matchAll(/^#?([A-Z][A-Z0-9_]*)=(.*)$/gm)];
    const environment = Object.fromEntries(assignments.map(([, key, value]) => [key, value ?? '']));

    assert.ok(assignments.length >= 10, `${assignments.length} variables`);
    // All of them at once, as if every line were uncommented.
    const settings = await settingsFrom('{}', environment);
    await assertSettingsMatch(environment, settings, 'worker.env.example');
  });

  test('config.json.example loads, with the node, server and registries it states', async () => {
    const text = await repoText('deploy/systemd/config.json.example');
    const file = JSON.parse(text) as {
      node: string;
      temporal: { address: string; namespace: string };
      registries: string[];
    };
    // loadSettings refuses a file with keys it does not know.
    const settings = await settingsFrom(text, {});

    assert.equal(settings.node, file.node);
    assert.equal(settings.temporal.address, file.temporal.address);
    assert.equal(settings.temporal.namespace, file.temporal.namespace);
    assert.deepEqual(settings.registries, file.registries);
  });
});
