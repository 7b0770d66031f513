/**
 * The coredns chart values (coredns/helm, chart `coredns` 1.46.x) under which the chart renders the
 * CoreDNS that runs: EKS's object names, both selectors as they are, the Service's clusterIP, the
 * replicas, the ECR image and tag, resources, priority class, affinity and topology spread,
 * tolerations, the Corefile through the chart's `servers`, and the ClusterRole's rules (the chart
 * cannot render EKS's rule to read nodes: then it renders no RBAC, and EKS's stays as it is). Pure:
 * reads an Observation, never the cluster.
 *
 * What the chart renders whatever the values say, and so changes once, is listed as `changes` (the
 * pod template's labels, its config checksum, the port names; docs/takeover.md): CoreDNS rolls once,
 * one pod at a time. Which values exist, and what each renders, was checked with `helm template`
 * against the real chart (docs/takeover.md lists the versions).
 */
import { appliedView, AppliedView, installedEntries, registryOf } from './applied';
import { Corefile, CorefileDirective, corefileDirectives, CorefileSyntaxError, parseCorefile, parseServerKey } from './corefile';
import { AddonChart, ChartDeriveOptions, ChartValuesRequest, ChartValuesToInstall, DerivedChartValues } from '../engine/addon-chart';
import {
  DISABLED_NODE_SELECTOR_KEY, LAST_APPLIED_ANNOTATION, MANAGED_BY_LABEL, RELEASE_NAME_ANNOTATION, RELEASE_NAMESPACE_ANNOTATION,
} from '../engine/helm';
import { HelmValues, isPlainMap, setAt } from '../engine/helm-values';
import { deepEqual, fieldKey } from '../engine/managed-fields';
import { KubeObject, Observation } from '../engine/types';

/** The newest coredns chart version this library was checked with (docs/takeover.md): what it installs unless told. */
export const COREDNS_CHART_VERSION = '1.46.2';
/** Every coredns chart version the derived values were checked against, with Helm 4 and Helm 3. */
export const COREDNS_CHART_VERSIONS_CHECKED: readonly string[] = ['1.46.0', '1.46.1', '1.46.2'];

const CONTAINER = 'coredns';
const CONFIG_VOLUME = 'config-volume';
/** The chart's `args`, `-conf` with the Corefile where it mounts the ConfigMap. */
const CHART_ARGS = ['-conf', '/etc/coredns/Corefile'];
const CHART_MOUNT_PATH = '/etc/coredns';
/** The chart's probes: fixed paths and ports; only their timing is a value. */
const CHART_PROBES = { livenessProbe: { path: '/health', port: 8080 }, readinessProbe: { path: '/ready', port: 8181 } } as const;
/** What the chart puts on the pod template whatever the values say (with isClusterService, which renders the pods' dnsPolicy). */
const CHART_POD_LABELS = ['k8s-app', 'app.kubernetes.io/name', 'app.kubernetes.io/instance'];
const CHECKSUM_ANNOTATION = 'checksum/config';
const TOLERATIONS_ANNOTATION = 'scheduler.alpha.kubernetes.io/tolerations';
/** Labels the chart puts on every object it renders (the Deployment also gets app.kubernetes.io/version). */
const CHART_LABELS = [MANAGED_BY_LABEL, 'app.kubernetes.io/instance', 'helm.sh/chart', 'k8s-app', 'kubernetes.io/cluster-service',
  'kubernetes.io/name', 'app.kubernetes.io/name', 'app.kubernetes.io/version'];
/** Metadata that is Helm's, kubectl's or a controller's, never a value. */
const NOT_VALUES = [RELEASE_NAME_ANNOTATION, RELEASE_NAMESPACE_ANNOTATION, LAST_APPLIED_ANNOTATION, 'deployment.kubernetes.io/revision'];
/** The chart's default maps whose keys a value map merges with: a key the running object lacks must be nulled. */
const CHART_DEFAULTS: HelmValues = {
  resources: { limits: { cpu: '100m', memory: '128Mi' }, requests: { cpu: '100m', memory: '128Mi' } },
  securityContext: { allowPrivilegeEscalation: false, capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] }, readOnlyRootFilesystem: true },
};
/** The ClusterRole the chart renders (rbac.create), without and with rbac.multiclusterEnable. */
const CHART_ROLE_RULES = [
  { apiGroups: [''], resources: ['endpoints', 'services', 'pods', 'namespaces'], verbs: ['list', 'watch'] },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
];
const MULTICLUSTER_RULE = { apiGroups: ['multicluster.x-k8s.io'], resources: ['serviceexports', 'serviceimports'], verbs: ['list', 'watch'] };

const POD_SPEC: readonly string[] = ['f:spec', 'f:template', 'f:spec'];
const POD_METADATA: readonly string[] = ['f:spec', 'f:template', 'f:metadata'];

/** The values, what the first install changes anyway, what stays a customisation, and whether CoreDNS runs at all. */
export type DerivedCorednsValues = DerivedChartValues & { readonly running: boolean };

/** `live` with null for each key of the chart's default map it lacks (Helm merges value maps with the chart's; null removes a key). */
function overDefaults(live: unknown, defaults: unknown): unknown {
  if (!isPlainMap(live) || !isPlainMap(defaults)) return live;
  const out: HelmValues = { ...live };
  for (const [key, value] of Object.entries(defaults)) {
    out[key] = key in live ? overDefaults(live[key], value) : null;
  }
  return out;
}

/** An image reference split as the chart joins it (`repository:tag`); undefined parts where it cannot be. */
function imageParts(reference: string): { repository: string; tag: string } | undefined {
  if (reference.includes('@')) {
    // repository:tag@digest renders as repository + ':' + 'tag@digest'; a digest without a tag cannot be rendered.
    const [name, digest] = reference.split('@');
    const colon = name.lastIndexOf(':');
    return colon > name.lastIndexOf('/') ? { repository: name.slice(0, colon), tag: `${name.slice(colon + 1)}@${digest}` } : undefined;
  }
  const colon = reference.lastIndexOf(':');
  return colon > reference.lastIndexOf('/') ? { repository: reference.slice(0, colon), tag: reference.slice(colon + 1) } : undefined;
}

/** The name the chart gives a port: `udp-53`. */
const chartPortName = (protocol: string, port: number | string) => `${String(protocol).toLowerCase()}-${port}`;

/**
 * The Corefile as the chart renders `extraConfig` and `servers`: top-level lines (sorted by name),
 * then per server the zones joined by spaces and `:port`, the plugins, their blocks. Only to check
 * that the values reproduce the running Corefile's directives.
 */
export function chartCorefile(values: HelmValues): string {
  const lines: string[] = [];
  for (const name of Object.keys(values.extraConfig ?? {}).sort()) {
    const parameters = values.extraConfig[name]?.parameters;
    lines.push(parameters ? `${name} ${parameters}` : name);
  }
  for (const server of (values.servers ?? []) as any[]) {
    const zones = (server.zones ?? []).map((z: any) => `${z.scheme ?? ''}${z.zone ?? '.'}`);
    lines.push(`${zones.length > 0 ? zones.join(' ') : '.'}${server.port ? `:${server.port} ` : ''}{`);
    for (const plugin of (server.plugins ?? []) as any[]) {
      const head = `    ${plugin.name}${plugin.parameters ? ` ${plugin.parameters}` : ''}`;
      if (!plugin.configBlock) {
        lines.push(head);
        continue;
      }
      lines.push(`${head} {`, ...String(plugin.configBlock).split('\n').map((l) => `        ${l}`), '    }');
    }
    lines.push('}');
  }
  return lines.join('\n');
}

interface PortUse { udp: boolean; tcp: boolean }

/**
 * The chart's `servers` for a parsed Corefile: each server block's zones and port as keys, its
 * directives as plugins; a server's port serves TCP too (use_tcp) where CoreDNS's Service or
 * container has it. Throws what the chart cannot render.
 */
function serversOf(corefile: Corefile, tcpPorts: ReadonlySet<string>): { servers: HelmValues[]; extraConfig?: HelmValues } {
  if (corefile.snippets.length > 0) throw new Error(`it defines snippets (${corefile.snippets.join(', ')}), which the chart's values cannot render`);
  const servers = corefile.servers.map((server) => {
    const keys = server.keys.map(parseServerKey);
    const schemes = new Set(keys.map((k) => k.scheme.toLowerCase()));
    const ports = new Set(keys.map((k) => k.port || (schemes.has('tls://') ? '853' : schemes.has('grpc://') || schemes.has('https://') ? '443' : '53')));
    if (ports.size > 1) throw new Error(`the server block "${server.keys.join(' ')}" listens on several ports (${[...ports].join(', ')}), but the chart renders one port per server`);
    const port = [...ports][0];
    const zones = keys.map((k, i) => ({
      zone: k.zone === '' ? '.' : k.zone,
      ...k.scheme ? { scheme: k.scheme } : {},
      // The chart serves the port over TCP too when any zone of it says so.
      ...i === 0 && tcpPorts.has(port) && (k.scheme === '' || k.scheme === 'dns://') ? { use_tcp: true } : {},
    }));
    return {
      zones,
      port: Number(port),
      plugins: server.directives.map((d: CorefileDirective) => ({
        name: d.name,
        ...d.args ? { parameters: d.args } : {},
        ...d.block !== undefined && d.block !== '' ? { configBlock: d.block } : {},
      })),
    };
  });
  if (corefile.globals.length === 0) return { servers };
  const names = corefile.globals.map((g) => g.name);
  if (new Set(names).size !== names.length || !deepEqual(names, [...names].sort())) {
    throw new Error(`its top-level lines (${names.join(', ')}) are not unique names in sorted order, as the chart's extraConfig renders them`);
  }
  if (corefile.globals.some((g) => g.block !== undefined)) throw new Error('a top-level line has a block, which the chart\'s extraConfig cannot render');
  return { servers, extraConfig: Object.fromEntries(corefile.globals.map((g) => [g.name, g.args ? { parameters: g.args } : {}])) };
}

/** Servers that only make the chart render the running ports (with deployment.skipConfig, when the Corefile cannot be rendered). */
function portOnlyServers(dnsPorts: Map<string, PortUse>, metricsPort?: string): HelmValues[] {
  return [...dnsPorts.entries()].map(([port, use], i) => ({
    zones: [{ zone: '.', ...use.tcp ? { use_tcp: true } : {} }],
    port: Number(port),
    plugins: i === 0 && metricsPort ? [{ name: 'prometheus', parameters: `:${metricsPort}` }] : [],
  }));
}

/** The container ports the chart renders from `servers`: each server's port over UDP (and TCP), the prometheus plugin's over TCP. */
function chartContainerPorts(servers: readonly HelmValues[]): { port: number; protocol: string }[] {
  const byPort = new Map<string, PortUse>();
  for (const server of servers) {
    const key = String(server.port);
    const use = byPort.get(key) ?? { udp: false, tcp: false };
    for (const zone of server.zones ?? []) {
      const scheme = zone.scheme ?? '';
      if (scheme === '' || scheme === 'dns://') {
        use.udp = true;
        if (zone.use_tcp) use.tcp = true;
      } else if (['tls://', 'grpc://', 'https://'].includes(scheme)) {
        use.tcp = true;
      }
    }
    if (!use.udp && !use.tcp) use.udp = true;
    byPort.set(key, use);
    for (const plugin of server.plugins ?? []) {
      if (plugin.name === 'prometheus') byPort.set(String(plugin.parameters ?? '').split(':').pop()!, { udp: false, tcp: true });
    }
  }
  // The chart ranges over a map: ports in the order of their names as strings.
  return [...byPort.keys()].sort().flatMap((port) => [
    ...byPort.get(port)!.udp ? [{ port: Number(port), protocol: 'UDP' }] : [],
    ...byPort.get(port)!.tcp ? [{ port: Number(port), protocol: 'TCP' }] : [],
  ]);
}

const sortedRules = (rules: readonly any[]) => rules.map((r) => JSON.stringify({
  apiGroups: [...r.apiGroups ?? []].sort(),
  resources: [...r.resources ?? []].sort(),
  verbs: [...r.verbs ?? []].sort(),
  resourceNames: [...r.resourceNames ?? []].sort(),
  nonResourceURLs: [...r.nonResourceURLs ?? []].sort(),
})).sort();

export function deriveCorednsValues(observation: Observation, options: ChartDeriveOptions = {}): DerivedCorednsValues {
  const liveOf = (kind: string) => observation.objects.find((s) => s.object.kind === kind)?.live;
  const deployment = liveOf('Deployment');
  if (!deployment) {
    return { values: {}, changes: [], notes: ['the coredns Deployment is absent: there is no running CoreDNS to reproduce'], running: false };
  }
  const releaseName = options.releaseName ?? 'coredns';
  const installers = [...(options.handOver ?? []), options.fieldManager ?? 'helm'];
  const notes: string[] = [];
  const changes: string[] = [];
  const dep = appliedView(deployment, installers);
  const podSpec = dep.applied.spec?.template?.spec ?? {};
  const livePodSpec = deployment.spec?.template?.spec ?? {};
  const container = (podSpec.containers ?? []).find((c: any) => c.name === CONTAINER) ?? {};
  const liveContainer = (livePodSpec.containers ?? []).find((c: any) => c.name === CONTAINER);
  const values: HelmValues = {};

  // Names: the chart names the Deployment, ConfigMap and PDB after fullnameOverride, the Service after service.name.
  const configVolume = (livePodSpec.volumes ?? []).find((v: any) => v.name === CONFIG_VOLUME);
  const configMapName: string = configVolume?.configMap?.name ?? deployment.metadata.name;
  values.fullnameOverride = configMapName;
  if (deployment.metadata.name !== configMapName) setAt(values, 'deployment.name', deployment.metadata.name);
  const templateLabels: Record<string, string> = deployment.spec?.template?.metadata?.labels ?? {};
  if (templateLabels['k8s-app']) values.k8sAppLabelOverride = templateLabels['k8s-app'];
  else notes.push('the pods carry no k8s-app label, which the chart renders (k8sAppLabelOverride): the first install adds k8s-app=coredns');

  // The workload.
  values.replicaCount = deployment.spec?.replicas ?? 1;
  const strategy = deployment.spec?.strategy ?? {};
  if (strategy.type === 'Recreate') changes.push('the Deployment runs with strategy Recreate; the chart renders RollingUpdate');
  values.rollingUpdate = { maxUnavailable: strategy.rollingUpdate?.maxUnavailable ?? '25%', maxSurge: strategy.rollingUpdate?.maxSurge ?? '25%' };
  setAt(values, 'deployment.selector', deployment.spec?.selector);
  setAt(values, 'deployment.dnsPolicy', livePodSpec.dnsPolicy ?? 'ClusterFirst');
  if (livePodSpec.dnsConfig) setAt(values, 'deployment.dnsConfig', livePodSpec.dnsConfig);
  const deploymentAnnotations = installedEntries(withoutKeys(deployment.metadata.annotations, NOT_VALUES), ['f:metadata', 'f:annotations'],
    dep, 'Deployment annotation', notes);
  if (Object.keys(deploymentAnnotations).length > 0) setAt(values, 'deployment.annotations', deploymentAnnotations);

  // The image: repository and tag, as the chart joins them.
  const image: string | undefined = liveContainer?.image;
  const parts = image ? imageParts(image) : undefined;
  if (parts) values.image = { repository: parts.repository, tag: parts.tag, pullPolicy: liveContainer.imagePullPolicy ?? 'IfNotPresent' };
  else notes.push(`the image ${image} has no tag, and the chart always renders repository:tag: set image yourself`);
  if (podSpec.imagePullSecrets) setAt(values, 'image.pullSecrets', podSpec.imagePullSecrets);

  // The container.
  values.resources = overDefaults(container.resources ?? {}, CHART_DEFAULTS.resources);
  values.securityContext = container.securityContext ? overDefaults(container.securityContext, CHART_DEFAULTS.securityContext) : null;
  if (liveContainer && !deepEqual(liveContainer.args ?? [], CHART_ARGS)) {
    changes.push(`the coredns container runs with args ${JSON.stringify(liveContainer.args ?? [])}; the chart renders ${JSON.stringify(CHART_ARGS)}`);
  }
  for (const [probe, fixed] of Object.entries(CHART_PROBES)) {
    const live = liveContainer?.[probe];
    if (!live) {
      values[probe] = { enabled: false };
      continue;
    }
    // The chart renders every timing field: the running values, with the API server's defaults.
    values[probe] = {
      enabled: true,
      initialDelaySeconds: live.initialDelaySeconds ?? 0,
      periodSeconds: live.periodSeconds ?? 10,
      timeoutSeconds: live.timeoutSeconds ?? 1,
      successThreshold: live.successThreshold ?? 1,
      failureThreshold: live.failureThreshold ?? 3,
    };
    if (live.httpGet?.path !== fixed.path || live.httpGet?.port !== fixed.port) {
      changes.push(`${probe} checks ${JSON.stringify(live.httpGet ?? Object.keys(live))}; the chart always checks HTTP ${fixed.path} on port ${fixed.port}`);
    }
  }
  const env = (container.env ?? []) as any[];
  if (env.length > 0) values.env = env;
  const mounts = ((container.volumeMounts ?? []) as any[]).filter((m) => m.name !== CONFIG_VOLUME);
  if (mounts.length > 0) values.extraVolumeMounts = mounts;
  const configMount = (liveContainer?.volumeMounts ?? []).find((m: any) => m.name === CONFIG_VOLUME);
  if (configMount && configMount.mountPath !== CHART_MOUNT_PATH) changes.push(`the Corefile is mounted at ${configMount.mountPath}; the chart mounts it at ${CHART_MOUNT_PATH}`);
  const readOnlyMount = configMount?.readOnly === true;

  // The pod.
  if (podSpec.priorityClassName !== undefined) values.priorityClassName = podSpec.priorityClassName;
  values.terminationGracePeriodSeconds = livePodSpec.terminationGracePeriodSeconds ?? 30;
  if (podSpec.securityContext && Object.keys(podSpec.securityContext).length > 0) values.podSecurityContext = podSpec.securityContext;
  if (podSpec.automountServiceAccountToken === false) values.automountServiceAccountToken = false;
  values.affinity = podSpec.affinity ?? {};
  values.topologySpreadConstraints = podSpec.topologySpreadConstraints ?? [];
  values.tolerations = podSpec.tolerations ?? [];
  const nodeSelector = installedEntries(livePodSpec.nodeSelector, [...POD_SPEC, 'f:nodeSelector'], dep, 'nodeSelector', notes,
    (key) => key !== DISABLED_NODE_SELECTOR_KEY);
  if (Object.keys(nodeSelector).length > 0) values.nodeSelector = nodeSelector;
  if (livePodSpec.nodeSelector?.[DISABLED_NODE_SELECTOR_KEY] !== undefined) {
    notes.push(`the Deployment is disabled (nodeSelector ${DISABLED_NODE_SELECTOR_KEY}); the values leave that key out, so the chart runs CoreDNS again`);
  }
  if (templateUsesTpl(values.affinity) || templateUsesTpl(values.topologySpreadConstraints)) {
    notes.push('affinity or topologySpreadConstraints hold "{{", which the chart renders as a template (tpl): check them');
  }
  const otherContainers = ((podSpec.containers ?? []) as any[]).filter((c) => c.name !== CONTAINER);
  if (otherContainers.length > 0) values.extraContainers = otherContainers;
  if ((podSpec.initContainers ?? []).length > 0) values.initContainers = podSpec.initContainers;
  const otherVolumes = ((podSpec.volumes ?? []) as any[]).filter((v) => v.name !== CONFIG_VOLUME);
  if (otherVolumes.length > 0) values.extraVolumes = otherVolumes;

  // The pod template's labels and annotations: EKS's (the Deployment's selector among them) as podLabels and podAnnotations.
  const templateMetadata = deployment.spec?.template?.metadata ?? {};
  const podLabels = installedEntries(templateLabels, [...POD_METADATA, 'f:labels'], dep, 'pod label', notes,
    (key) => !CHART_POD_LABELS.includes(key));
  if (Object.keys(podLabels).length > 0) values.podLabels = podLabels;
  const podAnnotations = installedEntries(templateMetadata.annotations, [...POD_METADATA, 'f:annotations'], dep, 'pod annotation', notes,
    (key) => ![CHECKSUM_ANNOTATION, TOLERATIONS_ANNOTATION].includes(key));
  if (Object.keys(podAnnotations).length > 0) values.podAnnotations = podAnnotations;

  // The Service, its ports, and the Corefile.
  const service = liveOf('Service');
  const serviceView = service ? appliedView(service, installers) : undefined;
  serviceValues(service, serviceView, values, notes);
  const configMap = liveOf('ConfigMap');
  const containerPorts = (liveContainer?.ports ?? []) as any[];
  const servicePorts = (service?.spec?.ports ?? []) as any[];
  const tcpPorts = new Set([...containerPorts.filter((p) => p.protocol === 'TCP').map((p) => String(p.containerPort)),
    ...servicePorts.filter((p) => p.protocol === 'TCP').map((p) => String(p.targetPort ?? p.port))]);
  corefileValues(configMap, configVolume, tcpPorts, containerPorts, values, notes, changes);

  // The ServiceAccount, RBAC, the PodDisruptionBudget.
  serviceAccountValues(liveOf('ServiceAccount'), installers, livePodSpec.serviceAccountName, values);
  rbacValues(liveOf('ClusterRole'), liveOf('ClusterRoleBinding'), values, notes);
  const pdb = liveOf('PodDisruptionBudget');
  if (pdb) {
    const { selector, ...budget } = appliedView(pdb, installers).applied.spec ?? {};
    values.podDisruptionBudget = { ...budget, selector: pdb.spec?.selector };
  }

  // What the chart renders whatever the values say: the pod template changes once, the rest is metadata.
  const podTemplateChanges: string[] = [];
  const chartName = 'coredns';
  for (const [key, value] of [['app.kubernetes.io/name', chartName], ['app.kubernetes.io/instance', releaseName]]) {
    if (templateLabels[key] !== value) podTemplateChanges.push(`label ${key}=${value}`);
  }
  podTemplateChanges.push(`annotation ${CHECKSUM_ANNOTATION} (a hash of the rendered ConfigMap)`);
  if (!templateMetadata.annotations?.[TOLERATIONS_ANNOTATION]) podTemplateChanges.push(`annotation ${TOLERATIONS_ANNOTATION} (isClusterService)`);
  const renamed = containerPorts.filter((p) => p.name && p.name !== chartPortName(p.protocol ?? 'TCP', p.containerPort))
    .map((p) => `${p.name} → ${chartPortName(p.protocol ?? 'TCP', p.containerPort)}`);
  if (renamed.length > 0) podTemplateChanges.push(`container port names ${renamed.join(', ')}`);
  const rendered = chartContainerPorts(values.servers ?? []);
  const key = (p: { port: number; protocol: string }) => `${p.port}/${p.protocol}`;
  const running = containerPorts.map((p) => key({ port: p.containerPort, protocol: p.protocol ?? 'TCP' }));
  const added = rendered.map(key).filter((k) => !running.includes(k));
  const dropped = running.filter((k) => !rendered.map(key).includes(k));
  if (added.length > 0) podTemplateChanges.push(`container ports ${added.join(', ')} added`);
  if (dropped.length > 0) podTemplateChanges.push(`container ports ${dropped.join(', ')} no longer declared (Helm 4 removes them, Helm 3 keeps them)`);
  if (readOnlyMount) podTemplateChanges.push(`readOnly: true of the ${CONFIG_VOLUME} mount dropped by Helm 4 (Helm 3 keeps it; a ConfigMap volume is read-only anyway)`);
  const replicas = values.replicaCount;
  const maxUnavailable = values.rollingUpdate.maxUnavailable;
  changes.unshift(`the pod template, once, because the chart renders it whatever the values say: ${podTemplateChanges.join('; ')}. `
    + `CoreDNS rolls once, as its Deployment says: ${replicas} replica(s), maxUnavailable ${maxUnavailable}, maxSurge ${values.rollingUpdate.maxSurge}`
    + `${pdb ? ', the PodDisruptionBudget kept' : ''}. Nothing else of the pods changes: image, args, resources, probes, scheduling, service account`);
  if (unavailableAll(replicas, maxUnavailable)) {
    changes.push(`with ${replicas} replica(s) and maxUnavailable ${maxUnavailable}, the roll may leave no CoreDNS pod ready: scale to 2 or more first`);
  }
  if (service) serviceChanges(service, serviceView!, values, changes);
  objectLabelChanges(observation, installers, changes);

  return { version: parts?.tag, imageRegistry: registryOf(image), values, changes, notes, running: true };
}

function withoutKeys(map: Record<string, string> | undefined, keys: readonly string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(map ?? {}).filter(([k]) => !keys.includes(k)));
}

const templateUsesTpl = (value: unknown) => JSON.stringify(value ?? null).includes('{{');

/** Whether a roll may take every pod down at once: maxUnavailable (a number or a percentage, rounded down) reaches the replicas. */
function unavailableAll(replicas: number, maxUnavailable: number | string): boolean {
  const count = typeof maxUnavailable === 'number' ? maxUnavailable : Math.floor((replicas * parseInt(String(maxUnavailable), 10)) / 100);
  return count >= replicas;
}

/** The Service: its name, address, selector, type and annotations. */
function serviceValues(service: KubeObject | undefined, view: AppliedView | undefined, values: HelmValues, notes: string[]): void {
  if (!service || !view) {
    notes.push('Service kube-dns is absent: the first install creates it with an address of the API server\'s choosing, which no pod\'s resolv.conf names');
    return;
  }
  const spec = service.spec ?? {};
  const applied = view.applied.spec ?? {};
  const svc: HelmValues = { name: service.metadata.name };
  // The address every kubelet gives pods as their DNS server: immutable, and the whole cluster's DNS.
  if (spec.clusterIP) svc.clusterIP = spec.clusterIP;
  if ((spec.clusterIPs ?? []).length > 1) svc.clusterIPs = spec.clusterIPs;
  svc.selector = spec.selector ?? {};
  const annotations = installedEntries(withoutKeys(service.metadata.annotations, NOT_VALUES), ['f:metadata', 'f:annotations'], view, 'Service annotation', notes);
  if (Object.keys(annotations).length > 0) svc.annotations = annotations;
  for (const field of ['ipFamilyPolicy', 'externalTrafficPolicy', 'loadBalancerIP', 'loadBalancerClass', 'externalIPs', 'trafficDistribution']) {
    if (applied[field] !== undefined) svc[field] = applied[field];
  }
  values.service = svc;
  if (spec.type && spec.type !== 'ClusterIP') values.serviceType = spec.type;
}

/** The Service's ports the chart renders differently: names, and ports it does not render at all. */
function serviceChanges(service: KubeObject, view: AppliedView, values: HelmValues, changes: string[]): void {
  const ports = (service.spec?.ports ?? []) as any[];
  const dnsPorts = new Set(((values.servers ?? []) as any[]).map((s) => String(s.port)));
  const renamed = ports.filter((p) => dnsPorts.has(String(p.targetPort ?? p.port)) && p.name !== chartPortName(p.protocol ?? 'TCP', p.targetPort ?? p.port));
  const notRendered = ports.filter((p) => !dnsPorts.has(String(p.targetPort ?? p.port)));
  const parts: string[] = [];
  if (renamed.length > 0) {
    parts.push(`port names ${renamed.map((p) => `${p.name} → ${chartPortName(p.protocol ?? 'TCP', p.targetPort ?? p.port)}`).join(', ')} (the chart names ports `
      + '<protocol>-<port>, with no value for a name; traffic is unaffected: ports are matched by number and protocol. Helm 3\'s client-side merge keys '
      + 'ports by number only, so it renames only the UDP port, and each later Helm 3 upgrade renames it again and rolls CoreDNS: use Helm 4, '
      + 'or see docs/takeover.md)');
  }
  if (notRendered.length > 0) {
    const owned = notRendered.filter((p) => view.installed(['f:spec', 'f:ports', `k:{"port":${p.port},"protocol":"${p.protocol ?? 'TCP'}"}`]));
    parts.push(`port${notRendered.length > 1 ? 's' : ''} ${notRendered.map((p) => `${p.name ?? ''} ${p.port}/${p.protocol ?? 'TCP'}`.trim()).join(', ')} `
      + `not rendered (the chart renders the servers' ports only): ${owned.length > 0 ? 'Helm 4 removes' : 'left as'} ${notRendered.length > 1 ? 'them' : 'it'}`
      + `${owned.length > 0 ? ', Helm 3 keeps' : ''}${owned.length > 0 ? (notRendered.length > 1 ? ' them' : ' it') : ''}. CoreDNS still serves it on every pod; `
      + 'prometheus.service.enabled renders a Service <fullname>-metrics for it');
  }
  if (parts.length > 0) changes.push(`Service ${service.metadata.name} (same object, address and selector): ${parts.join('; ')}`);
}

/**
 * Labels of the running objects that the chart does not render: Helm 4 removes them (server-side
 * apply drops what the new owner stops applying), Helm 3 keeps them. customLabels renders one value
 * on every object and the pods, so EKS's eks.amazonaws.com/component (coredns, kube-dns on the
 * Service) cannot be kept with it.
 */
function objectLabelChanges(observation: Observation, installers: readonly string[], changes: string[]): void {
  const lost: string[] = [];
  for (const state of observation.objects) {
    const live = state.live;
    if (!live || ['ClusterRole', 'ClusterRoleBinding'].includes(state.object.kind)) continue;
    const view = appliedView(live, installers);
    const labels = Object.keys(live.metadata.labels ?? {})
      .filter((k) => !CHART_LABELS.includes(k) && view.installed(['f:metadata', 'f:labels', fieldKey(k)]));
    if (labels.length > 0) lost.push(`${state.object.kind} ${live.metadata.name}: ${labels.map((k) => `${k}=${live.metadata.labels![k]}`).join(', ')}`);
  }
  changes.push(`object labels: the chart adds its own (${MANAGED_BY_LABEL}, helm.sh/chart, app.kubernetes.io/name, instance, version) to each object`
    + `${lost.length > 0 ? `; these labels it does not render are removed by Helm 4 (Helm 3 keeps them): ${lost.join('; ')}` : ''}`);
}

/** The Corefile as servers (or, when the chart cannot render it, kept as it is with deployment.skipConfig), and the zone files. */
function corefileValues(
  configMap: KubeObject | undefined, configVolume: any, tcpPorts: ReadonlySet<string>, containerPorts: readonly any[],
  values: HelmValues, notes: string[], changes: string[],
): void {
  const data: Record<string, string> = configMap?.data ?? {};
  const items = ((configVolume?.configMap?.items ?? []) as any[]);
  const zoneFiles = items.filter((i) => i.key !== 'Corefile');
  if (zoneFiles.some((i) => i.key !== i.path)) notes.push('a ConfigMap key is mounted under another file name, which the chart\'s zoneFiles cannot render');
  if (zoneFiles.length > 0) values.zoneFiles = zoneFiles.map((i) => ({ filename: i.key, domain: '', contents: data[i.key] ?? '' }));
  const unmounted = Object.keys(data).filter((k) => k !== 'Corefile' && !zoneFiles.some((i) => i.key === k));
  if (unmounted.length > 0) notes.push(`ConfigMap ${configMap?.metadata.name}: key(s) ${unmounted.join(', ')} are not mounted; the chart renders no such keys: Helm 4 removes them`);

  const dnsPorts = new Map<string, PortUse>();
  let metricsPort: string | undefined;
  for (const p of containerPorts) {
    const port = String(p.containerPort);
    if (p.name === 'metrics' || (p.protocol === 'TCP' && !containerPorts.some((q) => q.containerPort === p.containerPort && q.protocol === 'UDP'))) {
      if (!metricsPort) metricsPort = port;
      continue;
    }
    const use = dnsPorts.get(port) ?? { udp: false, tcp: false };
    if ((p.protocol ?? 'TCP') === 'UDP') use.udp = true;
    else use.tcp = true;
    dnsPorts.set(port, use);
  }

  const text = data.Corefile;
  let why: string;
  if (text === undefined) {
    why = `ConfigMap ${configMap ? `${configMap.metadata.name} has no Corefile key` : 'coredns is absent'}`;
  } else {
    try {
      const corefile = parseCorefile(text);
      const { servers, extraConfig } = serversOf(corefile, tcpPorts);
      values.servers = servers;
      if (extraConfig) values.extraConfig = extraConfig;
      // The values must render the same directives; anything else keeps the running Corefile instead.
      if (!deepEqual(corefileDirectives(parseCorefile(chartCorefile(values))), corefileDirectives(corefile))) {
        throw new Error('the chart would render other directives from it');
      }
      changes.push('the Corefile\'s text: the chart writes it with its own indentation'
        + `${corefile.comments > 0 ? `, without its ${corefile.comments} comment line(s) outside plugin blocks` : ''}; the same server blocks, `
        + 'plugins, arguments and blocks (CoreDNS reloads it: the reload plugin, and the pods restart with it anyway)');
      return;
    } catch (e) {
      if (!(e instanceof Error)) throw e;
      why = e instanceof CorefileSyntaxError ? `it does not parse (${e.message})` : e.message;
      delete values.servers;
      delete values.extraConfig;
    }
  }
  // Kept as it runs: the chart renders no ConfigMap, and servers only make the ports.
  setAt(values, 'deployment.skipConfig', true);
  values.servers = portOnlyServers(dnsPorts, metricsPort);
  notes.push(`the Corefile cannot be rendered through the chart's servers: ${why}. The values keep the running ConfigMap as it is `
    + '(deployment.skipConfig: true; its servers only declare the ports): edit it yourself, or write servers for it');
}

/** ServiceAccount coredns: created by the chart under its own name, with its annotations (an IAM role, say). */
function serviceAccountValues(live: KubeObject | undefined, installers: readonly string[], name: string | undefined, values: HelmValues): void {
  if (!live) {
    values.serviceAccount = { create: false, name: name ?? 'default' };
    return;
  }
  const view = appliedView(live, installers);
  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(withoutKeys(live.metadata.annotations, NOT_VALUES))) {
    if (view.installed(['f:metadata', 'f:annotations', fieldKey(key)])) annotations[key] = value;
  }
  values.serviceAccount = { create: true, name: live.metadata.name, ...Object.keys(annotations).length > 0 ? { annotations } : {} };
}

/**
 * RBAC: the chart's ClusterRole has no rule to read nodes, which EKS's grants. Where the running
 * role is exactly the chart's, the chart renders it (under EKS's name); otherwise it renders no RBAC
 * (rbac.create false), and EKS's role and binding stay as they are: adopted, but in no manifest.
 */
function rbacValues(role: KubeObject | undefined, binding: KubeObject | undefined, values: HelmValues, notes: string[]): void {
  const name = role?.metadata.name ?? binding?.metadata.name ?? 'system:coredns';
  values.clusterRole = { nameOverride: name };
  const rules = sortedRules(role?.rules ?? []);
  const chartRenders = !!role && !!binding && binding.metadata.name === name && binding.roleRef?.name === name
    && (deepEqual(rules, sortedRules(CHART_ROLE_RULES)) || deepEqual(rules, sortedRules([...CHART_ROLE_RULES, MULTICLUSTER_RULE])));
  if (chartRenders) {
    values.rbac = { create: true, ...rules.length > CHART_ROLE_RULES.length ? { multiclusterEnable: true } : {} };
    return;
  }
  values.rbac = { create: false };
  notes.push(`ClusterRole ${name}${role ? ` grants what the chart's role does not (${(role.rules ?? []).length} rules; the chart's has no rule to read nodes)` : ' is absent'}: `
    + 'the values render no RBAC (rbac.create false), so EKS\'s ClusterRole and ClusterRoleBinding stay exactly as they are, adopted for the release but in '
    + 'none of its manifests (helm uninstall leaves them)');
}

/** The coredns chart's values to install: those that reproduce what runs, and what the install changes anyway. */
export function corednsValuesToInstall(observation: Observation, request: ChartValuesRequest): ChartValuesToInstall {
  const derived = deriveCorednsValues(observation, { releaseName: request.releaseName, fieldManager: 'helm' });
  const chartVersion = request.chartVersion ?? COREDNS_CHART_VERSION;
  const notes = [...derived.notes];
  if (!COREDNS_CHART_VERSIONS_CHECKED.includes(chartVersion)) {
    notes.push(`coredns chart ${chartVersion} was not checked by this library (checked: ${COREDNS_CHART_VERSIONS_CHECKED.join(', ')}): `
      + 'render it with these values (helm template) and compare before installing');
  }
  return { ...derived, notes, chartVersion };
}

/** The coredns chart (https://coredns.github.io/helm): CoreDNS's default chart. */
export const COREDNS_CHART: AddonChart = {
  name: 'coredns',
  repository: 'https://coredns.github.io/helm',
  repositoryAlias: 'coredns',
  // Immutable (the selector, the Service's address), or the names of the running objects: another value makes new ones.
  fixedValuePaths: ['fullnameOverride', 'deployment.name', 'deployment.selector', 'service.name', 'service.clusterIP', 'service.clusterIPs'],
  valuesToInstall: corednsValuesToInstall,
};

