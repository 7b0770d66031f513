import { execFile } from 'child_process';
import * as path from 'path';
import { VPC_CNI } from '../addons';
import { execCommandPath, execEnvironment, KubeTarget } from './kubeconfig';

/** Where the CLI learnt whether vpc-cni is an EKS managed add-on. */
export type ManagedAddonSource = 'flag' | 'eks-api' | 'unknown';

export interface ManagedAddonCheck {
  /** true: a managed add-on; false: the EKS API has none; null: not known. */
  readonly managedAddon: boolean | null;
  readonly source: ManagedAddonSource;
  /** The EKS cluster the kubeconfig's `aws eks get-token` names, when it does. */
  readonly clusterName?: string;
  /** Why the EKS API could not tell (one line), when it was asked. */
  readonly unknownReason?: string;
}

/** The kubeconfig user's `aws eks get-token` plugin: whom to ask, and how. */
export interface EksTokenPlugin {
  /** The `aws` command, resolved as the exec plugin's. */
  readonly command: string;
  readonly clusterName: string;
  readonly region?: string;
  readonly profile?: string;
  /** The exec plugin's environment (AWS_PROFILE, AWS_REGION, … of its `env`). */
  readonly env: NodeJS.ProcessEnv;
}

const DESCRIBE_TIMEOUT_MS = 60_000;
/** The longest part of the AWS CLI's error quoted in the one-line note. */
const MAX_REASON = 300;

/** The value of `--name VALUE` or `--name=VALUE` in an argument list. */
function argValue(args: readonly string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name) return args[i + 1];
    if (args[i].startsWith(`${name}=`)) return args[i].slice(name.length + 1);
  }
  return undefined;
}

/** The cluster of an `aws eks get-token --cluster-name NAME` exec plugin; undefined for any other credential. */
export function eksTokenPlugin(target: KubeTarget, env: NodeJS.ProcessEnv): EksTokenPlugin | undefined {
  const exec = target.user.value.exec;
  if (!exec?.command || path.basename(exec.command) !== 'aws') return undefined;
  const args = exec.args ?? [];
  const eks = args.indexOf('eks');
  if (eks < 0 || args[eks + 1] !== 'get-token') return undefined;
  // --cluster-id names an EKS local cluster on Outposts.
  const clusterName = argValue(args, '--cluster-name') ?? argValue(args, '--cluster-id');
  if (!clusterName) return undefined;
  return {
    command: execCommandPath(exec.command, target.user.dir),
    clusterName,
    region: argValue(args, '--region'),
    profile: argValue(args, '--profile'),
    env: execEnvironment(exec, env),
  };
}

/**
 * Asks the EKS API whether vpc-cni is a managed add-on of the plugin's cluster, as the plugin's own
 * identity (the same `aws` and environment). Never throws: what it cannot tell is `unknown`, with the reason.
 */
export function describeVpcCniAddon(plugin: EksTokenPlugin, addonName = VPC_CNI.eksAddonName): Promise<ManagedAddonCheck> {
  const args = [
    ...(plugin.profile ? ['--profile', plugin.profile] : []),
    'eks', 'describe-addon', '--cluster-name', plugin.clusterName, '--addon-name', addonName,
    ...(plugin.region ? ['--region', plugin.region] : []),
    '--output', 'json',
  ];
  const where = `cluster "${plugin.clusterName}"${plugin.region ? ` in ${plugin.region}` : ''}`;
  const unknown = (reason: string): ManagedAddonCheck => ({ managedAddon: null, source: 'unknown', clusterName: plugin.clusterName, unknownReason: reason });
  return new Promise((resolve) => {
    execFile(plugin.command, args, { env: plugin.env, timeout: DESCRIBE_TIMEOUT_MS, maxBuffer: 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (!error) {
        let answer: any;
        try {
          answer = JSON.parse(stdout);
        } catch {
          return resolve(unknown(`aws eks describe-addon for ${where} printed no JSON`));
        }
        return resolve(answer?.addon?.addonName === addonName
          ? { managedAddon: true, source: 'eks-api', clusterName: plugin.clusterName }
          : unknown(`aws eks describe-addon for ${where} answered without the ${addonName} add-on`));
      }
      // The same exception says the cluster is not there: that is no answer about its add-ons.
      if (/ResourceNotFoundException/.test(stderr) && !/no cluster found/i.test(stderr)) {
        return resolve({ managedAddon: false, source: 'eks-api', clusterName: plugin.clusterName });
      }
      const code = (error as NodeJS.ErrnoException).code;
      const detail = code === 'ENOENT' ? `${plugin.command} was not found`
        : error.killed ? `it did not answer within ${DESCRIBE_TIMEOUT_MS / 1000} s`
          : lastLine(stderr) ?? error.message.split('\n')[0];
      resolve(unknown(`aws eks describe-addon for ${where} failed: ${bounded(detail)}`));
    });
  });
}

function lastLine(text: string): string | undefined {
  return text.split('\n').map((l) => l.trim()).filter((l) => l).pop();
}

function bounded(text: string): string {
  return text.length > MAX_REASON ? `${text.slice(0, MAX_REASON)}…` : text;
}
