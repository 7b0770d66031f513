/**
 * The aws-vpc-cni chart values under which the chart renders what is running: the cluster's own
 * images (region, account, domain, tags like `v1.19.2-eksbuild.1`), every env var, the network
 * policy agent's flags, resources, scheduling. Installing the chart with them changes nothing that
 * runs. Pure: reads an Observation, never the cluster.
 *
 * Which chart values exist, and what each renders, was read from the aws-vpc-cni chart's templates
 * (docs/takeover.md lists the versions checked). Only what somebody applied counts: the parts of the
 * live objects their managedFields cover, not the defaults the API server filled in.
 */
import { AppliedView, appliedView, installedEntries, registryOf } from './applied';
import { AddonChart, ChartDeriveOptions, ChartValuesRequest, ChartValuesToInstall, DerivedChartValues } from '../engine/addon-chart';
import { DISABLED_NODE_SELECTOR_KEY, LAST_APPLIED_ANNOTATION, RELEASE_NAME_ANNOTATION, RELEASE_NAMESPACE_ANNOTATION } from '../engine/helm';
import { HelmValues, setAt } from '../engine/helm-values';
import { deepEqual, fieldKey, namedItemKey } from '../engine/managed-fields';
import { KubeObject, Observation } from '../engine/types';

export { mergeValues } from '../engine/helm-values';
export type { HelmValues } from '../engine/helm-values';
export type { ChartDeriveOptions, ChartValuesRequest, ChartValuesToInstall, DerivedChartValues } from '../engine/addon-chart';


/** The chart's three images: value path, container, repository (after the registry). */
const IMAGES = {
  awsNode: { container: 'aws-node', repository: 'amazon-k8s-cni', values: 'image' },
  init: { container: 'aws-vpc-cni-init', repository: 'amazon-k8s-cni-init', values: 'init.image' },
  nodeAgent: { container: 'aws-eks-nodeagent', repository: 'amazon/aws-network-policy-agent', values: 'nodeAgent.image' },
} as const;

/** Env vars the chart renders itself after `env` and `extraEnv`. */
const CHART_FIELD_REF_ENV = ['MY_NODE_NAME', 'MY_POD_NAME'];
/** Pod template labels the chart always renders (the DaemonSet's selector among them). */
const CHART_POD_LABELS = ['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'k8s-app'];
/** Volumes the chart renders itself (cni-config with cniConfig.enabled, bpf-pin-path with the node agent). */
const CHART_VOLUMES = ['bpf-pin-path', 'cni-bin-dir', 'cni-net-dir', 'cni-config', 'log-dir', 'run-dir', 'xtables-lock'];

/**
 * The network policy agent's flags and the values that render them (`:` port prefixes are the
 * chart's). Values stay strings: Helm reads numbers in a values file as floats and prints one of a
 * million or more as `1.048576e+06`.
 */
const NODE_AGENT_FLAGS: Record<string, { path: string; port?: boolean }> = {
  '--enable-ipv6': { path: 'nodeAgent.enableIpv6' },
  '--enable-network-policy': { path: 'enableNetworkPolicy' },
  '--enable-cloudwatch-logs': { path: 'nodeAgent.enableCloudWatchLogs' },
  '--enable-policy-event-logs': { path: 'nodeAgent.enablePolicyEventLogs' },
  '--log-file': { path: 'nodeAgent.networkPolicyAgentLogFileLocation' },
  '--metrics-bind-addr': { path: 'nodeAgent.metricsBindAddr', port: true },
  '--health-probe-bind-addr': { path: 'nodeAgent.healthProbeBindAddr', port: true },
  '--conntrack-cache-cleanup-period': { path: 'nodeAgent.conntrackCacheCleanupPeriod' },
  '--conntrack-cache-table-size': { path: 'nodeAgent.conntrackCacheTableSize' },
  '--log-level': { path: 'nodeAgent.logLevel' },
};

/** ConfigMap amazon-vpc-cni: key → value. */
const CONFIG_MAP_KEYS: Record<string, string> = {
  'enable-windows-ipam': 'enableWindowsIpam',
  'enable-network-policy-controller': 'enableNetworkPolicy',
  'enable-windows-prefix-delegation': 'enableWindowsPrefixDelegation',
  'warm-prefix-target': 'warmWindowsPrefixTarget',
  'warm-ip-target': 'warmWindowsIPTarget',
  'minimum-ip-target': 'minimumWindowsIPTarget',
  'branch-eni-cooldown': 'branchENICooldown',
};

const POD_SPEC: readonly string[] = ['f:spec', 'f:template', 'f:spec'];
const POD_METADATA: readonly string[] = ['f:spec', 'f:template', 'f:metadata'];

/** An ECR image reference split into the chart's parts: `<account>.dkr.<endpoint>.<region>.<domain>/<repository>:<tag>`. */
export function imageValues(reference: string, repository: string): HelmValues {
  const registry = /^(\d{12})\.dkr\.([a-z0-9-]+)\.([a-z0-9-]+)\.([a-z0-9.-]+)$/;
  const slash = reference.indexOf('/');
  const colon = reference.lastIndexOf(':');
  const parts = slash > 0 && colon > slash ? registry.exec(reference.slice(0, slash)) : null;
  if (!parts || reference.slice(slash + 1, colon) !== repository || reference.includes('@')) {
    // Another registry, repository path, or a digest: the chart takes the whole reference.
    return { override: reference };
  }
  const [, account, endpoint, region, domain] = parts;
  return { account, domain, region, endpoint, tag: reference.slice(colon + 1) };
}

/** `v1.19.2-eksbuild.1` → `1.19.2`; undefined for anything else. */
export function chartVersionOfTag(tag: string | undefined): string | undefined {
  return /^v?(\d+\.\d+\.\d+)(?:-eksbuild\.\d+)?$/.exec(tag ?? '')?.[1];
}

/** The installed VPC CNI's chart version and image registry, from the aws-node image (or the helm.sh/chart label). */
export function installedVersionOf(observation: Observation): { readonly version?: string; readonly imageRegistry?: string } {
  const daemonSet = observation.objects.find((s) => s.object.kind === 'DaemonSet')?.live;
  const image: string | undefined = (daemonSet?.spec?.template?.spec?.containers ?? []).find((c: any) => c.name === IMAGES.awsNode.container)?.image;
  if (!daemonSet) return {};
  const tag = image ? imageValues(image, IMAGES.awsNode.repository).tag : undefined;
  const version = chartVersionOfTag(tag) ?? /^aws-vpc-cni-(\d+\.\d+\.\d+)$/.exec(daemonSet.metadata.labels?.['helm.sh/chart'] ?? '')?.[1];
  return { version, imageRegistry: registryOf(image) };
}

export function deriveChartValues(observation: Observation, options: ChartDeriveOptions = {}): DerivedChartValues {
  const liveOf = (kind: string) => observation.objects.find((s) => s.object.kind === kind && !s.object.crd)?.live;
  const daemonSet = liveOf('DaemonSet');
  if (!daemonSet) {
    return { values: {}, notes: ['the aws-node DaemonSet is absent: there is no running VPC CNI to reproduce'], changes: [] };
  }
  const installers = [...(options.handOver ?? []), options.fieldManager ?? 'helm'];
  const notes: string[] = [];
  const changes: string[] = [];
  // What the install would change in what runs goes apart from the other notes (customisations kept, what cannot be told).
  const change = (text: string) => changes.push(text);
  const values: HelmValues = { originalMatchLabels: true };
  const ds = appliedView(daemonSet, installers);
  const podSpec = ds.applied.spec?.template?.spec ?? {};
  const livePodSpec = daemonSet.spec?.template?.spec ?? {};

  const containerOf = (list: 'containers' | 'initContainers', name: string) => ({
    applied: (podSpec[list] ?? []).find((c: any) => c.name === name),
    live: (livePodSpec[list] ?? []).find((c: any) => c.name === name),
    path: [...POD_SPEC, fieldKey(list), namedItemKey(name)],
  });
  const awsNode = containerOf('containers', IMAGES.awsNode.container);
  const init = containerOf('initContainers', IMAGES.init.container);
  const agent = containerOf('containers', IMAGES.nodeAgent.container);

  // Images, with their pull policy: the cluster's own registry and tags.
  for (const [image, container] of [[IMAGES.awsNode, awsNode], [IMAGES.init, init], [IMAGES.nodeAgent, agent]] as const) {
    if (!container.live) continue;
    const parts = imageValues(container.live.image, image.repository);
    if (container.applied?.imagePullPolicy) parts.pullPolicy = container.applied.imagePullPolicy;
    setAt(values, image.values, parts);
  }
  const { version, imageRegistry } = installedVersionOf(observation);
  if (!version) notes.push(`the installed version cannot be told from the aws-node image ${awsNode.live?.image} or the helm.sh/chart label`);

  // Env vars: the install's, with their live values (an edit of one is kept); additions are customisations.
  if (awsNode.live) Object.assign(values, envValues(awsNode, ds, 'env', true, notes, change));
  if (init.live) {
    const { env } = envValues(init, ds, 'init.env', false, notes, change);
    if (env) setAt(values, 'init.env', env);
  }

  // Resources: the init container and the agent fall back to the aws-node container's in the chart.
  const resourcesOf = (c: { applied?: any }) =>
    (c.applied?.resources && Object.keys(c.applied.resources).length > 0 ? c.applied.resources : undefined);
  const awsNodeResources = resourcesOf(awsNode);
  values.resources = awsNodeResources ?? null;
  for (const [path, container] of [['init.resources', init], ['nodeAgent.resources', agent]] as const) {
    if (!container.live) continue;
    const own = resourcesOf(container);
    if (own && !deepEqual(own, awsNodeResources)) setAt(values, path, own);
    else if (!own && awsNodeResources) change(`${container.live.name} has no resources; the chart gives it the aws-node container's: the first install adds them`);
  }

  // Security contexts and probes.
  values.securityContext = awsNode.applied?.securityContext ?? null;
  if (init.live) setAt(values, 'init.securityContext', init.applied?.securityContext ?? null);
  if (agent.live) setAt(values, 'nodeAgent.securityContext', agent.applied?.securityContext ?? null);
  for (const probe of ['livenessProbe', 'readinessProbe'] as const) {
    const applied = awsNode.applied?.[probe];
    if (!applied) continue;
    const { timeoutSeconds, ...rest } = applied;
    values[probe] = rest;
    if (timeoutSeconds !== undefined) values[`${probe}TimeoutSeconds`] = timeoutSeconds;
  }

  // The network policy agent: whether it runs, and its flags.
  setAt(values, 'nodeAgent.enabled', !!agent.live);
  if (agent.live) {
    for (const arg of (agent.applied?.args ?? []) as string[]) {
      const eq = arg.indexOf('=');
      const flag = NODE_AGENT_FLAGS[eq > 0 ? arg.slice(0, eq) : arg];
      if (!flag || eq < 0) {
        change(`aws-eks-nodeagent: argument ${arg} is not a chart value: the first install drops it`);
        continue;
      }
      const value = arg.slice(eq + 1);
      setAt(values, flag.path, flag.port ? value.replace(/^:/, '') : value);
    }
  }

  // Scheduling and the pod.
  const dsSpec = ds.applied.spec ?? {};
  values.updateStrategy = dsSpec.updateStrategy ?? null;
  if (podSpec.priorityClassName !== undefined) values.priorityClassName = podSpec.priorityClassName;
  values.tolerations = podSpec.tolerations ?? null;
  values.affinity = podSpec.affinity ?? null;
  if (podSpec.imagePullSecrets) values.imagePullSecrets = podSpec.imagePullSecrets;
  if (podSpec.securityContext && Object.keys(podSpec.securityContext).length > 0) values.podSecurityContext = podSpec.securityContext;
  const nodeSelector = installedEntries(livePodSpec.nodeSelector, [...POD_SPEC, 'f:nodeSelector'], ds, 'nodeSelector', notes,
    (key) => key !== DISABLED_NODE_SELECTOR_KEY);
  if (Object.keys(nodeSelector).length > 0) values.nodeSelector = nodeSelector;
  if (livePodSpec.nodeSelector?.[DISABLED_NODE_SELECTOR_KEY] !== undefined) {
    change(`the DaemonSet is disabled (nodeSelector ${DISABLED_NODE_SELECTOR_KEY}); the values leave that key out, so the chart runs aws-node again`);
  }
  const templateMetadata = daemonSet.spec?.template?.metadata ?? {};
  const podAnnotations = installedEntries(templateMetadata.annotations, [...POD_METADATA, 'f:annotations'], ds, 'pod annotation', notes);
  if (Object.keys(podAnnotations).length > 0) values.podAnnotations = podAnnotations;
  const podLabels = installedEntries(templateMetadata.labels, [...POD_METADATA, 'f:labels'], ds, 'pod label', notes,
    (key) => !CHART_POD_LABELS.includes(key));
  if (Object.keys(podLabels).length > 0) values.podLabels = podLabels;
  const instance = templateMetadata.labels?.['app.kubernetes.io/instance'];
  if (options.releaseName && instance && instance !== options.releaseName) {
    change(`the pods are labelled app.kubernetes.io/instance=${instance}, and the chart labels them with the release name `
      + `"${options.releaseName}": the first install restarts every aws-node pod; use the release name "${instance}" to avoid it`);
  }

  // What the chart cannot render at all.
  for (const c of livePodSpec.containers ?? []) {
    if (![IMAGES.awsNode.container, IMAGES.nodeAgent.container].includes(c.name)) change(`container ${c.name} is not the chart's: the first install drops it unless it is a customisation`);
  }
  for (const c of livePodSpec.initContainers ?? []) {
    if (c.name !== IMAGES.init.container) change(`init container ${c.name} is not the chart's: the first install drops it unless it is a customisation`);
  }
  for (const v of (podSpec.volumes ?? []) as { name: string }[]) {
    if (v.name === 'cni-config') change('volume cni-config (cniConfig.enabled) comes from a ConfigMap the chart renders from cniConfig.fileContents, which the cluster cannot tell: set cniConfig yourself');
    else if (!CHART_VOLUMES.includes(v.name)) change(`volume ${v.name} is not rendered by the chart (extraVolumes): the first install drops it unless it is a customisation`);
  }

  configMapValues(liveOf('ConfigMap'), values, change);
  serviceAccountValues(liveOf('ServiceAccount'), installers, values);

  return { version, imageRegistry, values, notes, changes };
}

/**
 * A container's env as the chart's `env` map (plus `extraEnv` for valueFrom items on aws-node). The
 * chart renders the map sorted by name, then extraEnv, then its two field refs: if the running
 * order differs, the first install reorders it, which restarts the pods.
 */
function envValues(
  container: { live: any; path: string[] }, view: AppliedView, where: string, extraEnvAllowed: boolean, notes: string[],
  change: (text: string) => void,
): { env?: HelmValues; extraEnv?: unknown[] } {
  const env: HelmValues = {};
  const extraEnv: unknown[] = [];
  const order: string[] = [];
  for (const item of (container.live.env ?? []) as any[]) {
    if (extraEnvAllowed && CHART_FIELD_REF_ENV.includes(item.name) && item.valueFrom?.fieldRef) {
      order.push(item.name);
      continue;
    }
    if (!view.installed([...container.path, 'f:env', namedItemKey(item.name)])) {
      notes.push(`${container.live.name}: env ${item.name} was added by an imperative edit: kept as a customisation, not in the values `
        + '(the chart would render it in another place in the list, which restarts the pods)');
      continue;
    }
    if (item.valueFrom) {
      if (!extraEnvAllowed) {
        change(`${container.live.name}: env ${item.name} takes its value from ${Object.keys(item.valueFrom).join(', ')}, which ${where} cannot express: the first install drops it`);
        continue;
      }
      extraEnv.push(item);
    } else {
      env[item.name] = item.value ?? '';
    }
    order.push(item.name);
  }
  const rendered = [...Object.keys(env).sort(), ...extraEnv.map((e: any) => e.name), ...(extraEnvAllowed ? CHART_FIELD_REF_ENV : [])]
    .filter((name) => order.includes(name));
  if (!deepEqual(rendered, order)) {
    change(`${container.live.name}: the chart renders its env in the order ${rendered.join(', ')}, but it runs in the order ${order.join(', ')}: `
      + 'the first install reorders it, which restarts the pods');
  }
  return { env: Object.keys(env).length > 0 ? env : undefined, ...(extraEnv.length > 0 ? { extraEnv } : {}) };
}

/** ConfigMap amazon-vpc-cni: each key the chart renders, from its value. */
function configMapValues(live: KubeObject | undefined, values: HelmValues, change: (text: string) => void): void {
  if (!live) {
    change('ConfigMap amazon-vpc-cni is absent: the first install creates it');
    return;
  }
  for (const [key, value] of Object.entries((live.data ?? {}) as Record<string, string>)) {
    const path = CONFIG_MAP_KEYS[key];
    if (!path) {
      // Left out of the chart's ConfigMap: an install that applies server-side removes it.
      change(`ConfigMap amazon-vpc-cni: key ${key} is not rendered by the chart`);
      continue;
    }
    if (path in values && values[path] !== value) {
      // One value renders both the agent's flag and this key: keep the pods as they run.
      change(`ConfigMap amazon-vpc-cni: ${key} is "${value}" but the node agent runs with ${values[path]}; the chart renders both from ${path}: the first install sets the key to "${values[path]}"`);
      continue;
    }
    values[path] = value;
  }
}

/** ServiceAccount aws-node: its annotations (an IAM role for service accounts, say), Helm's own left out. */
function serviceAccountValues(live: KubeObject | undefined, installers: readonly string[], values: HelmValues): void {
  if (!live) return;
  const view = appliedView(live, installers);
  const skip = [RELEASE_NAME_ANNOTATION, RELEASE_NAMESPACE_ANNOTATION, LAST_APPLIED_ANNOTATION];
  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(live.metadata.annotations ?? {})) {
    if (!skip.includes(key) && view.installed(['f:metadata', 'f:annotations', fieldKey(key)])) annotations[key] = value;
  }
  if (Object.keys(annotations).length > 0) values.serviceAccount = { annotations };
}

/**
 * The values to install a chart version with (the CLI's `values`, the construct's chart values): those
 * that reproduce the running install, or for another version than the installed one, the same without
 * the version pins (that chart chooses its own images; everything else still reproduces what runs).
 */
export function chartValuesToInstall(observation: Observation, request: ChartValuesRequest): ChartValuesToInstall {
  const derived = deriveChartValues(observation, { fieldManager: 'helm', releaseName: request.releaseName });
  const running = observation.objects.some((s) => s.object.kind === 'DaemonSet' && !!s.live);
  if (!request.chartVersion || request.chartVersion === derived.version) return { ...derived, chartVersion: derived.version, running };
  const otherVersion = `chart ${request.chartVersion} is not the installed version (${derived.version ?? 'unknown'}): the image tags and `
    + 'VPC_CNI_VERSION are left to that chart, so the install updates the VPC CNI and restarts every aws-node pod';
  return {
    ...derived,
    running,
    chartVersion: request.chartVersion,
    values: withoutVersionPins(derived.values),
    changes: [...derived.changes, otherVersion],
  };
}

/**
 * For a chart version other than the installed one: the image tags and the reported version are the
 * new chart's to choose (its images); everything else still reproduces what runs.
 */
export function withoutVersionPins(values: HelmValues): HelmValues {
  const copy: HelmValues = JSON.parse(JSON.stringify(values));
  for (const path of ['image', 'init.image', 'nodeAgent.image']) {
    const image = path.split('.').reduce<any>((node, key) => node?.[key], copy);
    if (image && 'tag' in image) delete image.tag;
  }
  if (copy.env) delete copy.env.VPC_CNI_VERSION;
  return copy;
}

/** The aws-vpc-cni chart (eks-charts): the VPC CNI's default chart, installed with `originalMatchLabels` always true. */
export const VPC_CNI_CHART: AddonChart = {
  name: 'aws-vpc-cni',
  repository: 'https://aws.github.io/eks-charts',
  repositoryAlias: 'eks',
  // The aws-node DaemonSet's selector is immutable: only originalMatchLabels renders EKS's.
  fixedValuePaths: ['originalMatchLabels'],
  valuesToInstall: chartValuesToInstall,
};
