import { parseArgs as parseArgv } from 'util';
import { DRY_RUN_REFUSED_NOTE, EXIT, EXIT_MEANINGS, ExitCode, SKIP_NOTE } from './exit-codes';
import { ADDON_NAMES, ADDONS, addonNamed, COREDNS_CHART_VERSION, VPC_CNI } from '../addons';
import {
  Action, AddonDefinition, adoptFieldManagerProblems, adoptReleaseNamespaceProblems, CRD_POLICIES, CrdPolicy, handOverProblems,
  OWNED_BY_OTHERS, OwnedByOthers, releaseNameProblems,
} from '../engine';

/** The command line is wrong: exit code 2, with the usage hint (the command's own help once the command is known). */
export class UsageError extends Error {
  /** The command whose help says what it takes, e.g. `adopt` (also for `plan adopt`); undefined: the overview's. */
  command?: string;

  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const ACTION_COMMANDS = ['adopt', 'remove', 'disable', 'restore'] as const;
export type ActionCommand = typeof ACTION_COMMANDS[number];
export type OutputFormat = 'table' | 'json' | 'yaml';

/** What `values` derives the chart values for. */
export interface ValuesRequest {
  /** The release the chart will be installed as: the chart labels the pods with it. */
  readonly releaseName: string;
  /** The chart version to install; default the installed one. */
  readonly chartVersion?: string;
}

export interface CommandLine {
  /** `inspect`, `values`, or the action (a `plan <action>` is the action with `dryRun`). */
  readonly command: 'inspect' | 'values' | ActionCommand;
  /** The add-on (`--addon`, default the VPC CNI). */
  readonly addon: AddonDefinition;
  /** `inspect` without `--addon`: every preinstalled add-on. */
  readonly allAddons: boolean;
  readonly action: Action;
  /** Set for `values`. */
  readonly values?: ValuesRequest;
  /** `values --strict`: fail (exit 5) when installing the chart with the values would change what runs. */
  readonly strict?: boolean;
  readonly dryRun: boolean;
  readonly ifOwnedByOthers: OwnedByOthers;
  readonly managedAddon: boolean;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly output: OutputFormat;
}

/** `--help` (of one command when `command` is set), `--version`, or a command to run. */
export type Parsed = CommandLine | { readonly help: true; readonly command?: string } | { readonly version: true };

/** Defaults: the same as the construct's. */
export const DEFAULTS = {
  releaseName: VPC_CNI.defaultReleaseName,
  releaseNamespace: 'kube-system',
  fieldManager: 'helm',
  crdPolicy: 'DELETE_IF_UNUSED' as CrdPolicy,
  ifOwnedByOthers: 'FAIL' as OwnedByOthers,
};

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** May be given more than once; its value is then the list of all. */
  readonly multiple?: boolean;
  /** The value's placeholder in help texts, e.g. `FILE`. */
  readonly placeholder?: string;
  /** Help text; each further line is indented under the first. */
  readonly help: string;
}

/** Every option once. Which commands take it: CLUSTER_OPTIONS and OUTPUT_OPTIONS for all, else the command's own list. */
export const OPTIONS: Record<string, OptionSpec> = {
  'addon': {
    type: 'string',
    placeholder: 'NAME',
    help: `the preinstalled add-on: ${ADDON_NAMES.join(', ')} (default vpc-cni;\ninspect without it reports all three)`,
  },
  'kubeconfig': { type: 'string', placeholder: 'FILE', help: 'default: $KUBECONFIG (a \':\'-separated list), else ~/.kube/config' },
  'context': {
    type: 'string',
    placeholder: 'NAME',
    help: 'default: the kubeconfig\'s current-context\ntokens, client certificates and exec plugins (aws eks get-token) work;\n'
      + 'HTTPS_PROXY, NO_PROXY and a cluster\'s proxy-url (http://) are honoured;\n'
      + 'a cluster without certificate-authority(-data) is verified with the system\'s CAs',
  },
  'managed-addon': {
    type: 'boolean',
    help: 'the add-on is an EKS managed add-on. The cluster cannot tell it from the bootstrap\n'
      + 'install: only the EKS API knows. When the kubeconfig\'s credentials come from\n'
      + '"aws eks get-token --cluster-name NAME", this CLI asks it (aws eks describe-addon, with\n'
      + 'that plugin\'s environment); otherwise pass this when it is one',
  },
  'release-name': { type: 'string', placeholder: 'NAME', help: `the Helm release (default ${DEFAULTS.releaseName})` },
  'release-namespace': {
    type: 'string',
    placeholder: 'NS',
    help: `the release's namespace (default ${DEFAULTS.releaseNamespace}), the only one accepted: the chart\n`
      + 'renders aws-node in the release\'s namespace, so elsewhere it would start a second one',
  },
  'field-manager': {
    type: 'string',
    placeholder: 'NAME',
    help: `who gets the "eks" fields (default ${DEFAULTS.fieldManager}, Helm's manager); argocd-controller\n`
      + 'for Argo CD, helm-controller for Flux. Not eks or kubectl-client-side-apply:\n'
      + 'neither applies server-side, so neither could ever own the fields',
  },
  'hand-over': {
    type: 'string',
    multiple: true,
    placeholder: 'MANAGER',
    help: 'also hand the fields of this imperative edit\'s field manager (e.g. kubectl-set)\n'
      + 'to --field-manager, so the chart owns them; repeat it for several. Without it,\n'
      + 'such edits stay theirs (customisations the chart leaves alone)',
  },
  'crd-policy': { type: 'string', placeholder: 'POLICY', help: 'KEEP, DELETE_IF_UNUSED (default) or DELETE' },
  'delete-policy-endpoint-crd': {
    type: 'boolean',
    help: 'apply --crd-policy to the PolicyEndpoint CRD too. Kept otherwise: the EKS\n'
      + 'control plane\'s network policy controller uses it, and deleting it deletes\n'
      + 'every PolicyEndpoint',
  },
  'chart-version': {
    type: 'string',
    placeholder: 'VERSION',
    help: 'the aws-vpc-cni chart version you will install (default: the installed one).\n'
      + 'Another version leaves the image tags to that chart: the install then updates\n'
      + 'the VPC CNI (its pods restart). With --addon coredns: the coredns chart version\n'
      + `(default ${COREDNS_CHART_VERSION}, the newest checked; the image tag stays the running one)`,
  },
  'strict': {
    type: 'boolean',
    help: 'exit 5 when installing the chart with the values would change what runs (any\n'
      + 'note that says the install adds, drops, sets or restarts something); the values\n'
      + 'and the notes are printed all the same',
  },
  'if-owned-by-others': { type: 'string', placeholder: 'WHAT', help: 'when not the EKS bootstrap install: FAIL (default), SKIP or TAKE_OVER' },
  'dry-run': { type: 'boolean', help: 'plan only, checked by the API server (dryRun=All); write nothing' },
  'output': { type: 'string', short: 'o', placeholder: 'table|json', help: 'default table (values: yaml|json, default yaml)' },
  'help': { type: 'boolean', short: 'h', help: 'this help' },
  'version': { type: 'boolean', help: 'the version of this CLI' },
};

/** How to reach the cluster: every command takes these. */
const CLUSTER_OPTIONS = ['addon', 'kubeconfig', 'context', 'managed-addon'];
/** Every command takes these too. */
const OUTPUT_OPTIONS = ['output', 'help'];

export interface CommandSpec {
  /** The command's arguments in its usage line, e.g. `<action>`. */
  readonly args?: string;
  /** One line for the overview. */
  readonly summary: string;
  /** What it does, for its own help. */
  readonly description: string;
  /** Its own options, besides the cluster and output options. */
  readonly options: readonly string[];
  /** Its --output formats, the default first (default: table, json). */
  readonly outputs?: readonly OutputFormat[];
  /** Cluster options it does not take. */
  readonly withoutClusterOptions?: readonly string[];
  readonly exitCodes: readonly ExitCode[];
  /** The engine's action from the option values; throws UsageError for a value it cannot take. */
  readonly action?: (values: OptionValues, addon: AddonDefinition) => Action;
}

type OptionValues = Readonly<Record<string, string | boolean | string[] | undefined>>;

const ALL_EXIT_CODES: readonly ExitCode[] = [EXIT.OK, EXIT.ERROR, EXIT.USAGE, EXIT.REFUSED, EXIT.UNEXPECTED_STATE, EXIT.INTERRUPTED];

/** The commands, in the order the overview lists them. To add one, add it here (and its options to OPTIONS). */
export const COMMANDS: Record<string, CommandSpec> = {
  inspect: {
    summary: 'who owns each preinstalled add-on (or --addon\'s), and each object\'s owner and field managers',
    description: 'Reads the add-on\'s objects and says who owns them (the EKS bootstrap install, an EKS managed\n'
      + 'add-on, a Helm release, nobody), with each object\'s owner, field managers and problems, the\n'
      + 'installed version and image registry, and the recovery copy a removal kept. Without --addon:\n'
      + 'all three (vpc-cni, kube-proxy, coredns), one line each, then the details. Writes nothing.',
    options: [],
    outputs: ['table', 'json', 'yaml'],
    exitCodes: [EXIT.OK, EXIT.ERROR, EXIT.USAGE, EXIT.INTERRUPTED],
    action: () => ({ type: 'INSPECT' }),
  },
  plan: {
    args: '<action>',
    summary: 'what <action> would write, and why; writes nothing (the same as <action> --dry-run)',
    description: 'What the action would write, and why; writes nothing. The same as <action> --dry-run.\n'
      + `Actions: ${ACTION_COMMANDS.join(', ')}; each takes its own options (cdk-vpc-cni-ownership <action> --help).`,
    options: [],
    exitCodes: ALL_EXIT_CODES,
  },
  adopt: {
    summary: 'Helm label and annotations on each object; the "eks" field manager\'s fields go to --field-manager',
    description: 'Puts Helm\'s release label and annotations on each VPC CNI object and hands the fields the "eks"\n'
      + 'field manager owns to --field-manager, so that helm install (or upgrade) of the aws-vpc-cni chart\n'
      + 'as that release takes the objects over. Nothing else in the objects changes.',
    options: ['release-name', 'release-namespace', 'field-manager', 'hand-over', 'if-owned-by-others', 'dry-run'],
    exitCodes: ALL_EXIT_CODES,
    action: (values, addon) => {
      const releaseName = str(values, 'release-name') ?? addon.defaultReleaseName;
      const releaseNamespace = str(values, 'release-namespace') ?? DEFAULTS.releaseNamespace;
      const fieldManager = str(values, 'field-manager') ?? DEFAULTS.fieldManager;
      const handOver = list(values, 'hand-over');
      const problems = [
        ...releaseNameProblems(releaseName, '--release-name'),
        ...adoptReleaseNamespaceProblems(addon, releaseNamespace, '--release-namespace'),
        ...adoptFieldManagerProblems(fieldManager, '--field-manager'),
        ...handOverProblems(handOver, fieldManager, '--hand-over'),
      ];
      if (problems.length > 0) throw new UsageError(problems.join('; '));
      // The CLI runs as you: it reads Helm's release records, which you may read anyway, to tell installed from adopted.
      return { type: 'ADOPT', releaseName, releaseNamespace, fieldManager, readReleaseRecords: true, ...(handOver.length > 0 ? { handOver } : {}) };
    },
  },
  values: {
    summary: 'the chart values that reproduce the running add-on (aws-vpc-cni, or coredns with --addon coredns)',
    description: 'Prints the aws-vpc-cni chart values under which the chart renders what runs now: the cluster\'s\n'
      + 'own images and tags, every env var, the network policy agent\'s flags, resources, scheduling, with\n'
      + 'the chart version to install and, as comments, what stays a customisation or what the first install\n'
      + 'would change. To take the VPC CNI over with plain Helm (Argo CD and Flux: the same version and values),\n'
      + 'adopt first: after adopt --hand-over, the handed-over edits are the install\'s, and so in the values:\n'
      + '  cdk-vpc-cni-ownership adopt\n'
      + '  cdk-vpc-cni-ownership values --strict > values.yaml\n'
      + '  helm install aws-vpc-cni eks/aws-vpc-cni --version <version> -n kube-system -f values.yaml\n'
      + 'Nothing restarts: the install renders the pod template that runs; --strict stops (exit 5) where a note\n'
      + 'says the install would change something. Reads only (GET requests).\n'
      + 'With --addon coredns: the coredns chart\'s values (EKS\'s names, both selectors, the Service\'s address,\n'
      + 'replicas, image, scheduling, the Corefile as servers). That chart renders some of the pod template\n'
      + 'whatever the values say: the header lists each change (so --strict always stops); CoreDNS rolls once,\n'
      + 'one pod at a time:\n'
      + '  helm install coredns coredns/coredns --version <version> -n kube-system -f values.yaml',
    options: ['release-name', 'chart-version', 'strict'],
    outputs: ['yaml', 'json'],
    withoutClusterOptions: ['managed-addon'],
    exitCodes: [EXIT.OK, EXIT.ERROR, EXIT.USAGE, EXIT.UNEXPECTED_STATE, EXIT.WOULD_CHANGE, EXIT.INTERRUPTED],
    action: () => ({ type: 'INSPECT' }),
  },
  remove: {
    summary: 'delete the add-on\'s objects (workload first), keeping a recovery copy; CRDs by --crd-policy',
    description: 'Deletes the add-on\'s objects, the DaemonSet (or Deployment) first: the VPC CNI for a cluster whose\n'
      + 'pod network is another plugin\'s, kube-proxy for Cilium\'s kube-proxy replacement. Before the first delete,\n'
      + 'what will be deleted is kept in the ConfigMap cdk-vpc-cni-ownership-recovery-<addon> in kube-system:\n'
      + 'restore re-creates it from there. The ENIConfig CRD as --crd-policy says: DELETE_IF_UNUSED keeps it while\n'
      + 'ENIConfigs exist. The PolicyEndpoint CRD stays unless --delete-policy-endpoint-crd.',
    options: ['crd-policy', 'delete-policy-endpoint-crd', 'if-owned-by-others', 'dry-run'],
    exitCodes: ALL_EXIT_CODES,
    action: (values) => ({
      type: 'REMOVE',
      crdPolicy: oneOf('crd-policy', str(values, 'crd-policy') ?? DEFAULTS.crdPolicy, CRD_POLICIES),
      ...(values['delete-policy-endpoint-crd'] === true ? { deletePolicyEndpointCrd: true } : {}),
    }),
  },
  disable: {
    summary: 'add a nodeSelector no node has, so none of the add-on\'s pods runs (undo with restore)',
    description: 'Adds a nodeSelector that no node has to the add-on\'s DaemonSet (or Deployment), so none of its\n'
      + 'pods runs; nothing is deleted. restore undoes it.',
    options: ['if-owned-by-others', 'dry-run'],
    exitCodes: ALL_EXIT_CODES,
    action: () => ({ type: 'DISABLE' }),
  },
  restore: {
    summary: 'undo disable, and re-create what remove deleted from its recovery copy',
    description: 'Removes the nodeSelector key that disable added (the rest of the spec stays as it is), and\n'
      + 're-creates every object remove deleted, as it was, from the recovery copy remove kept (the ConfigMap\n'
      + 'cdk-vpc-cni-ownership-recovery-<addon> in kube-system). Says so when there is no copy.\n'
      + 'The ownership guard does not apply: it writes only the key of this tool\'s own and absent objects.',
    // restore writes only our own key and absent objects, so the guard does not apply to it.
    options: ['dry-run'],
    exitCodes: [EXIT.OK, EXIT.ERROR, EXIT.USAGE, EXIT.UNEXPECTED_STATE, EXIT.INTERRUPTED],
    action: () => ({ type: 'RESTORE' }),
  },
};

const BIN = 'cdk-vpc-cni-ownership';
const COLUMN = 30;

function row(left: string, text: string): string {
  const [first, ...more] = text.split('\n');
  const head = left.length + 2 < COLUMN ? `  ${left.padEnd(COLUMN - 2)}${first}` : `  ${left}\n${' '.repeat(COLUMN)}${first}`;
  return [head.trimEnd(), ...more.map((line) => `${' '.repeat(COLUMN)}${line}`)].join('\n');
}

function optionLabel(name: string, placeholder = OPTIONS[name].placeholder): string {
  const spec = OPTIONS[name];
  const long = `--${name}${placeholder ? ` ${placeholder}` : ''}`;
  return spec.short ? `-${spec.short}, ${long}` : long;
}

const DEFAULT_OUTPUTS: readonly OutputFormat[] = ['table', 'json'];

function outputsOf(spec: CommandSpec | undefined): readonly OutputFormat[] {
  return spec?.outputs ?? DEFAULT_OUTPUTS;
}

function clusterOptionsOf(spec: CommandSpec | undefined): string[] {
  return CLUSTER_OPTIONS.filter((name) => !spec?.withoutClusterOptions?.includes(name));
}

/** A command's output options: --output with its own formats and default. */
function outputRows(spec: CommandSpec): string[] {
  const outputs = outputsOf(spec);
  return OUTPUT_OPTIONS.map((name) => (name === 'output'
    ? row(optionLabel(name, outputs.join('|')), `default ${outputs[0]}`)
    : row(optionLabel(name), OPTIONS[name].help)));
}

/** `guarded`: the ownership guard applies (SKIP exits 0); `plans`: it has a dry run (a refused one exits 1). */
function exitCodeRows(codes: readonly ExitCode[], guarded: boolean, plans: boolean): string[] {
  return codes.map((code) => `  ${code}  ${EXIT_MEANINGS[code]}${code === EXIT.OK && guarded ? SKIP_NOTE : ''}`
    + `${code === EXIT.ERROR && plans ? DRY_RUN_REFUSED_NOTE : ''}`);
}

/** The commands that take an option of their own, for the overview: `adopt, remove: `. */
function takenBy(name: string): string {
  const commands = Object.entries(COMMANDS).filter(([, c]) => c.options.includes(name)).map(([n]) => n);
  return commands.length > 0 ? `${commands.join(', ')}: ` : '';
}

/** The overview: every command, every option, the exit codes. */
export const USAGE = [
  `Usage: ${BIN} <command> [options]`,
  `       ${BIN} <command> --help       that command's options, defaults and exit codes`,
  '',
  'Finds out who owns the Amazon VPC CNI (aws-node) of a Kubernetes cluster, and adopts it into a Helm',
  'release, removes it, or disables it reversibly; prints the chart values that reproduce it. The same',
  'engine as the VpcCniOwnership construct.',
  '',
  'Commands:',
  ...Object.entries(COMMANDS).map(([name, c]) => row(`${name}${c.args ? ` ${c.args}` : ''}`, c.summary)),
  '',
  'Cluster:',
  ...CLUSTER_OPTIONS.map((name) => row(optionLabel(name), OPTIONS[name].help)),
  '',
  'Options:',
  ...Object.keys(OPTIONS)
    .filter((name) => !CLUSTER_OPTIONS.includes(name) && !OUTPUT_OPTIONS.includes(name) && name !== 'version')
    .map((name) => {
      // The first line names the commands; the rest of a long help stays with the command's own help.
      const [first, ...more] = OPTIONS[name].help.split('\n');
      return row(optionLabel(name), [`${takenBy(name)}${first}`, ...more].join('\n'));
    }),
  row(optionLabel('output'), OPTIONS.output.help),
  row('-h, --help, --version', ''),
  '',
  'Exit codes:',
  ...exitCodeRows(Object.values(EXIT), true, true),
  '',
].join('\n');

/** The help of one command: its usage line, what it does, its options with their defaults, its exit codes. */
export function commandHelp(command: string): string {
  const spec = COMMANDS[command];
  if (!spec) return USAGE;
  const own = spec.options.length > 0 ? ['Options:', ...spec.options.map((name) => row(optionLabel(name), OPTIONS[name].help)), ''] : [];
  const plan = ACTION_COMMANDS.includes(command as ActionCommand) ? [`"${BIN} plan ${command}" is the same as ${command} --dry-run.`, ''] : [];
  return [
    `Usage: ${BIN} ${command}${spec.args ? ` ${spec.args}` : ''} [options]`,
    '',
    spec.description,
    '',
    ...plan,
    ...own,
    'Cluster:',
    ...clusterOptionsOf(spec).map((name) => row(optionLabel(name), OPTIONS[name].help)),
    '',
    'Output:',
    ...outputRows(spec),
    '',
    'Exit codes:',
    ...exitCodeRows(spec.exitCodes, spec.options.includes('if-owned-by-others') || command === 'plan',
      spec.options.includes('dry-run') || command === 'plan'),
    '',
  ].join('\n');
}

/** Parses the arguments; throws UsageError for anything it does not understand, naming the command whose help to read. */
export function parseArgs(argv: readonly string[]): Parsed {
  const { tokens } = parseArgv({
    args: [...argv],
    options: Object.fromEntries(Object.entries(OPTIONS).map(([name, o]) => [name, {
      type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}),
    }])),
    // Not strict: the checks below give this CLI's own messages (and exit code 2) for what it does not understand.
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const positional = (tokens ?? []).flatMap((t) => (t.kind === 'positional' ? [t.value] : []));
  try {
    return parseTokens(tokens ?? [], positional);
  } catch (e) {
    if (e instanceof UsageError && e.command === undefined) e.command = helpTopic(positional[0] === 'help' ? positional.slice(1) : positional);
    throw e;
  }
}

type Token = NonNullable<ReturnType<typeof parseArgv>['tokens']>[number];

function parseTokens(tokens: readonly Token[], positional: readonly string[]): Parsed {
  const values: Record<string, string | boolean | string[]> = {};
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const spec = Object.prototype.hasOwnProperty.call(OPTIONS, token.name) ? OPTIONS[token.name] : undefined;
    if (!spec) throw new UsageError(`Unknown option ${token.rawName}`);
    if (token.name in values && !spec.multiple) throw new UsageError(`${token.rawName} is given twice`);
    if (spec.type === 'boolean') {
      if (token.value !== undefined) throw new UsageError(`${token.rawName} takes no value`);
      values[token.name] = true;
      continue;
    }
    // An option right after a value option is a forgotten value, not the value.
    if (!token.value || (!token.inlineValue && token.value.startsWith('-'))) throw new UsageError(`${token.rawName} needs a value`);
    values[token.name] = spec.multiple ? [...(values[token.name] as string[] | undefined ?? []), token.value] : token.value;
  }

  if (values.help || positional[0] === 'help') return { help: true, command: helpTopic(positional[0] === 'help' ? positional.slice(1) : positional) };
  if (values.version) return { version: true };

  const [first, ...rest] = positional;
  if (!first) throw new UsageError('No command given');
  const isPlan = first === 'plan';
  const command = isPlan ? rest.shift() : first;
  if (isPlan && !command) throw new UsageError(`plan needs an action: ${ACTION_COMMANDS.join(', ')}`);
  if (isPlan && !ACTION_COMMANDS.includes(command as ActionCommand)) {
    throw new UsageError(`plan ${command}: not an action; plan one of ${ACTION_COMMANDS.join(', ')}`);
  }
  const spec = command === 'plan' ? undefined : COMMANDS[command!];
  if (!spec?.action) throw new UsageError(`Unknown command "${command}"`);
  if (rest.length > 0) throw new UsageError(`Unexpected argument "${rest[0]}"`);
  for (const name of Object.keys(values)) {
    if (!clusterOptionsOf(spec).includes(name) && !OUTPUT_OPTIONS.includes(name) && !spec.options.includes(name)) {
      throw new UsageError(`--${name} does not apply to ${command}`);
    }
  }

  const outputs = outputsOf(spec);
  const output = str(values, 'output') ?? outputs[0];
  if (!(outputs as readonly string[]).includes(output)) throw new UsageError(`--output must be ${outputs.join(' or ')}, not "${output}"`);
  const ifOwnedByOthers = oneOf('if-owned-by-others', str(values, 'if-owned-by-others') ?? DEFAULTS.ifOwnedByOthers, OWNED_BY_OTHERS);
  const addonName = str(values, 'addon');
  const addon = addonName === undefined ? VPC_CNI : addonNamed(addonName);
  if (!addon) throw new UsageError(`--addon must be one of ${ADDON_NAMES.join(', ')}, not "${addonName}"`);
  if (command === 'values' && !addon.chart) {
    const withChart = ADDONS.filter((a) => a.chart).map((a) => `${a.name} (the ${a.chart!.name} chart)`);
    throw new UsageError(`values derives chart values for ${withChart.join(' and ')}; no chart renders ${addon.name} as EKS installs it`);
  }
  if (addonName === undefined && command === 'inspect' && values['managed-addon'] === true) {
    throw new UsageError('--managed-addon says one add-on is managed: name it with --addon');
  }
  return {
    command: command as CommandLine['command'],
    addon,
    allAddons: command === 'inspect' && addonName === undefined,
    action: spec.action(values, addon),
    ...(command === 'values' ? { values: valuesRequest(values, addon), strict: values.strict === true } : {}),
    dryRun: isPlan || values['dry-run'] === true,
    ifOwnedByOthers,
    managedAddon: values['managed-addon'] === true,
    kubeconfig: str(values, 'kubeconfig'),
    context: str(values, 'context'),
    output: output as OutputFormat,
  };
}

/** A chart version as Helm takes it (`1.19.2`), not an image tag (`v1.19.2-eksbuild.1`). */
const CHART_VERSION = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

function valuesRequest(values: OptionValues, addon: AddonDefinition): ValuesRequest {
  const releaseName = str(values, 'release-name') ?? addon.defaultReleaseName;
  const chartVersion = str(values, 'chart-version');
  const problems = releaseNameProblems(releaseName, '--release-name');
  if (chartVersion !== undefined && !CHART_VERSION.test(chartVersion)) {
    problems.push(`--chart-version "${chartVersion}" must be an ${addon.chart!.name} chart version such as 1.19.2 (not an image tag such as v1.19.2-eksbuild.1)`);
  }
  if (problems.length > 0) throw new UsageError(problems.join('; '));
  return { releaseName, ...(chartVersion ? { chartVersion } : {}) };
}

/** The command whose help was asked for: `adopt --help`, `plan adopt --help` and `help adopt` all mean adopt. */
function helpTopic(positional: readonly string[]): string | undefined {
  const [first, second] = positional;
  if (first === 'plan' && second && COMMANDS[second] && ACTION_COMMANDS.includes(second as ActionCommand)) return second;
  return first && Object.prototype.hasOwnProperty.call(COMMANDS, first) ? first : undefined;
}

function str(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

function list(values: OptionValues, name: string): string[] {
  const value = values[name];
  return Array.isArray(value) ? value : [];
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, not "${value}"`);
  return value as T;
}
