import * as fs from 'fs';
import * as path from 'path';
import { stringify } from 'yaml';
import { CommandLine, commandHelp, parseArgs, USAGE, UsageError } from './args';
import { CliKubeClient } from './client';
import { describeVpcCniAddon, eksTokenPlugin, ManagedAddonCheck } from './eks-addon';
import { EXIT } from './exit-codes';
import { ClusterUnreachableError, CredentialsRejectedError, explainFailure, ServerNotTrustedError } from './failures';
import { InterruptedError, Interruption, WriteGate } from './interrupt';
import { connect, KubeconfigError, KubeTarget, kubeconfigFiles, loadKubeconfig, proxyOf, resolveContext, UnknownContextError } from './kubeconfig';
import { NoRunningAddonError, valuesDocument, valuesYaml } from './values';
import { ADDONS, VPC_CNI } from '../addons';
import {
  AddonDefinition, observe, OwnedByOthersError, PartialApplyError, PreflightRefusedError, run, UnexpectedClusterStateError, withoutUrlCredentials,
} from '../engine';
import { DryRunRefusedError, preflightRefusalText, renderJson, renderTable, Report, summaryLine } from './render';

export { EXIT } from './exit-codes';

export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: NodeJS.ProcessEnv;
  /** SIGINT and SIGTERM as the process receives them (main.ts); absent: none arrive. */
  readonly interruption?: Interruption;
}

/** How to delete the add-on and keep its objects, for the cluster when it is known. */
function deleteAddonCommand(clusterName = 'CLUSTER', addon: AddonDefinition = VPC_CNI): string {
  return `aws eks delete-addon --cluster-name ${clusterName} --addon-name ${addon.eksAddonName} --preserve`;
}

/** An EKS managed add-on can only be taken over through the EKS API, which this CLI does not write to. */
export class ManagedAddonRefusal extends Error {
  constructor(command: string, addon: ManagedAddonCheck, definition: AddonDefinition) {
    const byFlag = addon.source === 'flag';
    super(`Refusing to ${command} ${definition.title}: it is an EKS managed add-on (${byFlag ? '--managed-addon' : 'the EKS API says so'}), `
      + 'and EKS would keep writing it. Nothing was changed. Delete the add-on first, keeping its objects: '
      + `${deleteAddonCommand(addon.clusterName, definition)}; then run this again${byFlag ? ' without --managed-addon' : ''}.`);
    this.name = 'ManagedAddonRefusal';
  }
}

/** Runs one command line; returns the exit code. Never throws. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let line: CommandLine;
  try {
    const parsed = parseArgs(argv);
    if ('help' in parsed) {
      io.stdout.write(parsed.command ? commandHelp(parsed.command) : USAGE);
      return EXIT.OK;
    }
    if ('version' in parsed) {
      io.stdout.write(`${packageVersion()}\n`);
      return EXIT.OK;
    }
    line = parsed;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr.write(`${withoutUrlCredentials(e.message)}\n${e.command
      ? `Run cdk-vpc-cni-ownership ${e.command} --help for what ${e.command} takes.`
      : 'Run cdk-vpc-cni-ownership --help for the commands and options.'}\n`);
    return EXIT.USAGE;
  }
  if (line.command === 'values') return printValues(line, io);
  if (line.allAddons) return inspectAll(line, io);

  const report = await execute(line, io);
  writeReport(report, line.output, io);
  return report.exitCode!;
}

/** `inspect` without --addon: every preinstalled add-on, one line each (owner, version), then the details. */
async function inspectAll(line: CommandLine, io: CliIo): Promise<number> {
  const reports: Report[] = [];
  for (const addon of ADDONS) {
    // After a signal, the add-ons not read yet are left out.
    if (io.interruption?.signal && reports.length > 0) break;
    const previous = reports[reports.length - 1];
    // The same server and credentials fail the same way for every add-on: said once, not waited for three times.
    if (previous?.error && sameForEveryAddon(previous.error)) reports.push({ ...previous, line: { ...line, addon, allAddons: false } });
    else reports.push(await execute({ ...line, addon, allAddons: false }, io));
  }
  const exitCode = Math.max(...reports.map((r) => r.exitCode!));
  if (line.output === 'json' || line.output === 'yaml') {
    const doc = { addons: reports.map((r) => ({ addon: r.line.addon.name, ...renderJson(r) })), exitCode };
    io.stdout.write(line.output === 'json' ? `${JSON.stringify(doc, undefined, 2)}\n` : stringify(doc));
    return exitCode;
  }
  // Nothing was read: the one reason, once.
  if (reports[0].error && sameForEveryAddon(reports[0].error)) {
    writeReport(reports[0], 'table', io);
    return exitCode;
  }
  io.stdout.write(`${reports.map(summaryLine).join('\n')}\n`);
  for (const report of reports) {
    io.stdout.write(`\n== ${report.line.addon.name} ==\n`);
    writeReport(report, 'table', io);
  }
  return exitCode;
}

/** Runs the command line's action on its add-on; never throws: the report holds the error. */
async function execute(line: CommandLine, io: CliIo): Promise<Report> {
  let report: Report = { line };
  const gate = new WriteGate(io.interruption);
  let target: KubeTarget | undefined;
  try {
    target = targetOf(line, io.env);
    report = { ...report, context: target.context, server: target.server };
    const reached = target;
    await gate.guard((async () => {
      const client = new CliKubeClient(await connect(reached, io.env), reached.server, progressTo(io));
      try {
        const addon = await managedAddonOf(line, reached, io.env);
        report = { ...report, addon };
        const managedAddon = addon.managedAddon === true;
        const options = {
          addon: line.addon, action: line.action, facts: { managedAddon }, ifOwnedByOthers: line.ifOwnedByOthers, beforeWrite: gate.beforeWrite,
        };
        // The construct deletes a managed add-on through the EKS API before a TAKE_OVER; this CLI does not,
        // so it plans first and refuses when there is anything to write. restore only removes our own key (no guard).
        const takesOverAddon = managedAddon && line.ifOwnedByOthers === 'TAKE_OVER' && !line.dryRun && line.command !== 'restore';
        if (takesOverAddon && (await run(client, { ...options, dryRun: true })).plan.writes.length > 0) {
          throw new ManagedAddonRefusal(line.command, addon, line.addon);
        }
        const result = await run(client, {
          ...options,
          dryRun: line.dryRun,
          ifOwnedByOthers: line.command === 'restore' ? 'TAKE_OVER' : line.ifOwnedByOthers,
        });
        report = { ...report, result, requests: { ...client.requests } };
      } catch (e) {
        report = { ...report, requests: { ...client.requests } };
        throw e;
      } finally {
        client.close();
      }
    })(), (signal) => io.stderr.write(`${signal}: starting no new write; waiting for the ones in flight to finish `
      + '(a second signal stops at once, leaving their outcome unknown)\n'));
    // A real run stops at a refusal itself; a dry run reports it, and fails as the real run would.
    const refusals = report.result!.preflight.filter((p) => !p.accepted);
    if (refusals.length > 0) throw new DryRunRefusedError(refusals, report.result!.plan.writes.length);
    report = { ...report, exitCode: EXIT.OK };
  } catch (e) {
    let error = e instanceof Error ? e : new Error(String(e));
    // A signal also ends the plugins and the aws command it reaches: their failure is the signal's.
    const signal = io.interruption?.signal;
    if (signal && !gate.writesStarted && !(error instanceof InterruptedError)) error = new InterruptedError(signal, 'before any write');
    error = explained(error, target, line, io);
    report = { ...report, exitCode: exitCodeOf(error), error };
  }
  // Writes were under way when the signal came: exit 130 whatever followed; when the run still
  // finished, the signal came after its last write had started, and everything was done.
  const signal = io.interruption?.signal;
  if (signal && gate.writesStarted && report.exitCode !== EXIT.INTERRUPTED) {
    report = { ...report, exitCode: EXIT.INTERRUPTED, ...(report.error ? {} : { interrupted: signal }) };
  }
  return report;
}

/** A failure of the kubeconfig, the connection or the credentials: not the add-on's. */
function sameForEveryAddon(e: Error): boolean {
  return e instanceof KubeconfigError || e instanceof ClusterUnreachableError || e instanceof ServerNotTrustedError
    || e instanceof CredentialsRejectedError || e instanceof InterruptedError;
}

/** A failure to connect, or of the identity's access, in the CLI's terms (see failures.ts). */
function explained(error: Error, target: KubeTarget | undefined, line: CommandLine, io: CliIo): Error {
  if (!target) return error;
  return explainFailure(error, { target, proxy: proxyIfValid(target, io.env), command: commandText(line), addon: line.addon, action: line.action });
}

/** The proxy, for a message: none when its setting is what failed (that error says so). */
function proxyIfValid(target: KubeTarget, env: NodeJS.ProcessEnv): ReturnType<typeof proxyOf> {
  try {
    return proxyOf(target, env);
  } catch {
    return undefined;
  }
}

/** Progress lines (slow answers, retries) go to stderr, whatever the output format. */
function progressTo(io: CliIo): (line: string) => void {
  return (text) => io.stderr.write(`${withoutUrlCredentials(text)}\n`);
}

/** The command as its help names it: `remove --addon kube-proxy`, `plan adopt`. */
function commandText(line: CommandLine): string {
  if (line.command === 'values') return 'values';
  return `${line.dryRun && line.command !== 'inspect' ? 'plan ' : ''}${line.command} --addon ${line.addon.name}`;
}

function writeReport(report: Report, output: CommandLine['output'], io: CliIo): void {
  if (output === 'json' || output === 'yaml') {
    const doc = renderJson(report);
    io.stdout.write(output === 'json' ? `${JSON.stringify(doc, undefined, 2)}\n` : stringify(doc));
  } else {
    if (report.result) io.stdout.write(`${renderTable(report)}\n`);
    if (report.error) {
      const message = report.error instanceof PreflightRefusedError ? preflightRefusalText(report.error, report.context) : report.error.message;
      io.stderr.write(`${errorTitle(report.exitCode!)}: ${withoutUrlCredentials(message)}\n`);
    }
    if (report.interrupted) {
      io.stderr.write(`Interrupted: ${report.interrupted} came after the last write had started; it finished, so everything planned was done.\n`);
    }
    // The engine's message names the construct's property; say it the CLI's way too.
    if (report.error instanceof OwnedByOthersError) io.stderr.write(`${ownedByOthersHint(report.error, report.addon, report.line.addon)}\n`);
  }
}

function targetOf(line: CommandLine, env: NodeJS.ProcessEnv): KubeTarget {
  const { files, explicit } = kubeconfigFiles(line.kubeconfig, env);
  return resolveContext(loadKubeconfig(files, explicit), line.context);
}

/**
 * --managed-addon, else the EKS API when the kubeconfig's credentials come from `aws eks get-token`
 * (it names the cluster), else unknown: from the cluster alone, an add-on looks like the bootstrap install.
 */
async function managedAddonOf(line: CommandLine, target: KubeTarget, env: NodeJS.ProcessEnv): Promise<ManagedAddonCheck> {
  if (line.managedAddon) return { managedAddon: true, source: 'flag' };
  const plugin = eksTokenPlugin(target, env);
  return plugin ? describeVpcCniAddon(plugin, line.addon.eksAddonName) : { managedAddon: null, source: 'unknown' };
}

function ownedByOthersHint(e: OwnedByOthersError, addon: ManagedAddonCheck | undefined, definition: AddonDefinition): string {
  if (e.owner.kind !== 'EKS_MANAGED_ADDON') return 'With this CLI: --if-owned-by-others TAKE_OVER or SKIP.';
  return `With this CLI: --if-owned-by-others SKIP leaves it as it is; to take it over, delete the add-on first, keeping its objects (${deleteAddonCommand(addon?.clusterName, definition)}).`;
}

/** `values`: reads the cluster (GETs only) and prints the chart values that reproduce what runs. */
async function printValues(line: CommandLine, io: CliIo): Promise<number> {
  const request = line.values!;
  let target: KubeTarget | undefined;
  try {
    target = targetOf(line, io.env);
    const reached = target;
    const doc = await new WriteGate(io.interruption).guard((async () => {
      const client = new CliKubeClient(await connect(reached, io.env), reached.server, progressTo(io));
      try {
        return valuesDocument(line.addon, await observe(client, line.addon, {}), request);
      } finally {
        client.close();
      }
    })());
    io.stdout.write(line.output === 'json' ? `${JSON.stringify(doc, undefined, 2)}\n` : valuesYaml(line.addon, doc, request));
    if (!line.strict || doc.changes.length === 0) return EXIT.OK;
    io.stderr.write(`${errorTitle(EXIT.WOULD_CHANGE)}: installing the chart with these values would change what runs:\n`
      + `${doc.changes.map((c) => `- ${c}`).join('\n')}\n`);
    return EXIT.WOULD_CHANGE;
  } catch (e) {
    let error = e instanceof Error ? e : new Error(String(e));
    const signal = io.interruption?.signal;
    if (signal && !(error instanceof InterruptedError)) error = new InterruptedError(signal, 'before any write');
    error = explained(error, target, line, io);
    const code = exitCodeOf(error);
    const message = withoutUrlCredentials(error.message);
    if (line.output === 'json') io.stdout.write(`${JSON.stringify({ error: { kind: error.name.replace(/Error$/, ''), message } }, undefined, 2)}\n`);
    else io.stderr.write(`${errorTitle(code)}: ${message}\n`);
    return code;
  }
}

export function exitCodeOf(e: unknown): number {
  if (e instanceof InterruptedError || (e instanceof PartialApplyError && e.cause instanceof InterruptedError)) return EXIT.INTERRUPTED;
  if (e instanceof UnknownContextError) return EXIT.USAGE;
  if (e instanceof OwnedByOthersError || e instanceof ManagedAddonRefusal) return EXIT.REFUSED;
  if (e instanceof UnexpectedClusterStateError || e instanceof NoRunningAddonError) return EXIT.UNEXPECTED_STATE;
  return EXIT.ERROR;
}

function errorTitle(code: number): string {
  switch (code) {
    case EXIT.USAGE: return 'Usage error';
    case EXIT.REFUSED: return 'Refused';
    case EXIT.UNEXPECTED_STATE: return 'Unexpected cluster state';
    case EXIT.WOULD_CHANGE: return 'Would change what runs';
    case EXIT.INTERRUPTED: return 'Interrupted';
    default: return 'Error';
  }
}

function packageVersion(): string {
  // lib/cli/main.js and src/cli/main.ts are both two levels below package.json.
  return JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')).version;
}
