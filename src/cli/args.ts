import {
  Action, CRD_POLICIES, CrdPolicy, fieldManagerProblems, namespaceProblems, OWNED_BY_OTHERS, OwnedByOthers, releaseNameProblems,
} from '../engine';

/** The command line is wrong: exit code 2, with the usage hint. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const ACTION_COMMANDS = ['adopt', 'remove', 'disable', 'restore'] as const;
export type ActionCommand = typeof ACTION_COMMANDS[number];
export type OutputFormat = 'table' | 'json';

export interface CommandLine {
  /** `inspect`, or the action (a `plan <action>` is the action with `dryRun`). */
  readonly command: 'inspect' | ActionCommand;
  readonly action: Action;
  readonly dryRun: boolean;
  readonly ifOwnedByOthers: OwnedByOthers;
  readonly managedAddon: boolean;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly output: OutputFormat;
}

export type Parsed = CommandLine | { readonly help: true } | { readonly version: true };

/** Defaults: the same as the construct's. */
export const DEFAULTS = {
  releaseName: 'aws-vpc-cni',
  releaseNamespace: 'kube-system',
  fieldManager: 'helm',
  crdPolicy: 'DELETE_IF_UNUSED' as CrdPolicy,
  ifOwnedByOthers: 'FAIL' as OwnedByOthers,
};

interface OptionSpec {
  /** Takes a value (`--name VALUE` or `--name=VALUE`). */
  readonly value: boolean;
  /** The commands it applies to; every command when absent. */
  readonly commands?: readonly string[];
}

const OPTIONS: Record<string, OptionSpec> = {
  'kubeconfig': { value: true },
  'context': { value: true },
  'output': { value: true },
  'release-name': { value: true, commands: ['adopt'] },
  'release-namespace': { value: true, commands: ['adopt'] },
  'field-manager': { value: true, commands: ['adopt'] },
  'crd-policy': { value: true, commands: ['remove'] },
  // restore only removes our own nodeSelector key, so the guard does not apply to it (as in the construct).
  'if-owned-by-others': { value: true, commands: ['adopt', 'remove', 'disable'] },
  'managed-addon': { value: false },
  'dry-run': { value: false, commands: ACTION_COMMANDS },
  'help': { value: false },
  'version': { value: false },
};
const SHORT: Record<string, string> = { '-o': 'output', '-h': 'help' };

export const USAGE = `Usage: cdk-vpc-cni-ownership <command> [options]

Finds out who owns the Amazon VPC CNI (aws-node) of a Kubernetes cluster, and adopts it into a Helm
release, removes it, or disables it reversibly. The same engine as the VpcCniOwnership construct.

Commands:
  inspect           who owns the VPC CNI, and each object's owner and field managers
  plan <action>     what <action> would write, and why; writes nothing (the same as <action> --dry-run)
  adopt             Helm label and annotations on each object; the "eks" field manager's fields go to --field-manager
  remove            delete the VPC CNI objects (DaemonSet first); CRDs by --crd-policy
  disable           add a nodeSelector no node has, so no aws-node pod runs (undo with restore)
  restore           remove that nodeSelector key again; the rest of the spec stays as it is

Cluster:
  --kubeconfig FILE           default: $KUBECONFIG (a ':'-separated list), else ~/.kube/config
  --context NAME              default: the kubeconfig's current-context
                              tokens, client certificates and exec plugins (aws eks get-token) work

Options:
  --release-name NAME         adopt: the Helm release (default ${DEFAULTS.releaseName})
  --release-namespace NS      adopt: the release's namespace (default ${DEFAULTS.releaseNamespace})
  --field-manager NAME        adopt: who gets the "eks" fields (default ${DEFAULTS.fieldManager}, Helm's manager)
  --crd-policy POLICY         remove: KEEP, DELETE_IF_UNUSED (default) or DELETE
  --if-owned-by-others WHAT   when not the EKS bootstrap install: FAIL (default), SKIP or TAKE_OVER
  --managed-addon             the VPC CNI is an EKS managed add-on. Only the EKS API knows this
                              (aws eks describe-addon --addon-name vpc-cni); the cluster cannot tell it
                              from the bootstrap install, and this CLI reads only the cluster
  --dry-run                   plan only; write nothing
  -o, --output table|json     default table
  -h, --help, --version

Exit codes:
  0  done, or nothing to do (also when --if-owned-by-others SKIP left it as it is)
  1  error: kubeconfig, credentials, the cluster or a write failed (what was done is listed)
  2  usage: unknown command or option, invalid value, or a context the kubeconfig does not have
  3  refused by the ownership guard: someone else owns it; nothing was changed
  4  unexpected cluster state: the objects are not what EKS installs; nothing was changed
`;

/** Parses the arguments; throws UsageError for anything it does not understand. */
export function parseArgs(argv: readonly string[]): Parsed {
  const positional: string[] = [];
  const values: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const name = SHORT[flag] ?? (flag.startsWith('--') ? flag.slice(2) : undefined);
    const spec = name ? OPTIONS[name] : undefined;
    if (!name || !spec) throw new UsageError(`Unknown option ${flag}`);
    if (name in values) throw new UsageError(`${flag} is given twice`);
    if (!spec.value) {
      if (eq > 0) throw new UsageError(`${flag} takes no value`);
      values[name] = true;
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '' || (eq < 0 && value.startsWith('-'))) throw new UsageError(`${flag} needs a value`);
    values[name] = value;
  }

  if (values.help || positional[0] === 'help') return { help: true };
  if (values.version) return { version: true };

  const [first, ...rest] = positional;
  if (!first) throw new UsageError('No command given');
  const isPlan = first === 'plan';
  const command = isPlan ? rest.shift() : first;
  if (isPlan && !command) throw new UsageError(`plan needs an action: ${ACTION_COMMANDS.join(', ')}`);
  if (isPlan && !(ACTION_COMMANDS as readonly string[]).includes(command!)) {
    throw new UsageError(`plan ${command}: not an action; plan one of ${ACTION_COMMANDS.join(', ')}`);
  }
  if (command !== 'inspect' && !(ACTION_COMMANDS as readonly string[]).includes(command!)) {
    throw new UsageError(`Unknown command "${command}"`);
  }
  if (rest.length > 0) throw new UsageError(`Unexpected argument "${rest[0]}"`);
  for (const name of Object.keys(values)) {
    const applies = OPTIONS[name].commands;
    if (applies && !applies.includes(command!)) throw new UsageError(`--${name} does not apply to ${command}`);
  }

  const str = (name: string) => values[name] as string | undefined;
  const output = str('output') ?? 'table';
  if (output !== 'table' && output !== 'json') throw new UsageError(`--output must be table or json, not "${output}"`);
  const ifOwnedByOthers = oneOf('if-owned-by-others', str('if-owned-by-others') ?? DEFAULTS.ifOwnedByOthers, OWNED_BY_OTHERS);

  let action: Action;
  switch (command as CommandLine['command']) {
    case 'inspect':
      action = { type: 'INSPECT' };
      break;
    case 'adopt': {
      const releaseName = str('release-name') ?? DEFAULTS.releaseName;
      const releaseNamespace = str('release-namespace') ?? DEFAULTS.releaseNamespace;
      const fieldManager = str('field-manager') ?? DEFAULTS.fieldManager;
      const problems = [
        ...releaseNameProblems(releaseName, '--release-name'),
        ...namespaceProblems(releaseNamespace, '--release-namespace'),
        ...fieldManagerProblems(fieldManager, '--field-manager'),
      ];
      if (problems.length > 0) throw new UsageError(problems.join('; '));
      action = { type: 'ADOPT', releaseName, releaseNamespace, fieldManager };
      break;
    }
    case 'remove':
      action = { type: 'REMOVE', crdPolicy: oneOf('crd-policy', str('crd-policy') ?? DEFAULTS.crdPolicy, CRD_POLICIES) };
      break;
    case 'disable':
      action = { type: 'DISABLE' };
      break;
    case 'restore':
      action = { type: 'RESTORE' };
      break;
  }

  return {
    command: command as CommandLine['command'],
    action: action!,
    dryRun: isPlan || values['dry-run'] === true,
    ifOwnedByOthers,
    managedAddon: values['managed-addon'] === true,
    kubeconfig: str('kubeconfig'),
    context: str('context'),
    output,
  };
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, not "${value}"`);
  return value as T;
}
