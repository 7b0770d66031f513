import * as fs from 'fs';
import * as path from 'path';
import { stringify } from 'yaml';
import { CommandLine, commandHelp, parseArgs, USAGE, UsageError } from './args';
import { describeVpcCniAddon, eksTokenPlugin, ManagedAddonCheck } from './eks-addon';
import { EXIT } from './exit-codes';
import { connect, KubeTarget, kubeconfigFiles, loadKubeconfig, resolveContext, UnknownContextError } from './kubeconfig';
import { NoRunningAddonError, valuesDocument, valuesYaml } from './values';
import { ADDONS, VPC_CNI } from '../addons';
import { AddonDefinition, KubeClient, observe, OwnedByOthersError, PreflightRefusedError, run, UnexpectedClusterStateError } from '../engine';
import { DryRunRefusedError, preflightRefusalText, renderJson, renderTable, Report, summaryLine } from './render';

export { EXIT } from './exit-codes';

export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: NodeJS.ProcessEnv;
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
    io.stderr.write(`${e.message}\nRun cdk-vpc-cni-ownership --help for the commands and options.\n`);
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
  for (const addon of ADDONS) reports.push(await execute({ ...line, addon, allAddons: false }, io));
  const exitCode = Math.max(...reports.map((r) => r.exitCode!));
  if (line.output === 'json' || line.output === 'yaml') {
    const doc = { addons: reports.map((r) => ({ addon: r.line.addon.name, ...renderJson(r) })), exitCode };
    io.stdout.write(line.output === 'json' ? `${JSON.stringify(doc, undefined, 2)}\n` : stringify(doc));
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
  try {
    const target = targetOf(line, io.env);
    report = { ...report, context: target.context, server: target.server };
    const client = new KubeClient(await connect(target, io.env));
    try {
      const addon = await managedAddonOf(line, target, io.env);
      report = { ...report, addon };
      const managedAddon = addon.managedAddon === true;
      const options = { addon: line.addon, action: line.action, facts: { managedAddon }, ifOwnedByOthers: line.ifOwnedByOthers };
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
    // A real run stops at a refusal itself; a dry run reports it, and fails as the real run would.
    const refusals = report.result!.preflight.filter((p) => !p.accepted);
    if (refusals.length > 0) throw new DryRunRefusedError(refusals, report.result!.plan.writes.length);
    report = { ...report, exitCode: EXIT.OK };
  } catch (e) {
    report = { ...report, exitCode: exitCodeOf(e), error: e instanceof Error ? e : new Error(String(e)) };
  }
  return report;
}

function writeReport(report: Report, output: CommandLine['output'], io: CliIo): void {
  if (output === 'json' || output === 'yaml') {
    const doc = renderJson(report);
    io.stdout.write(output === 'json' ? `${JSON.stringify(doc, undefined, 2)}\n` : stringify(doc));
  } else {
    if (report.result) io.stdout.write(`${renderTable(report)}\n`);
    if (report.error) {
      const message = report.error instanceof PreflightRefusedError ? preflightRefusalText(report.error, report.context) : report.error.message;
      io.stderr.write(`${errorTitle(report.exitCode!)}: ${message}\n`);
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
  try {
    const client = new KubeClient(await connect(targetOf(line, io.env), io.env));
    let doc;
    try {
      doc = valuesDocument(line.addon, await observe(client, line.addon, {}), request);
    } finally {
      client.close();
    }
    io.stdout.write(line.output === 'json' ? `${JSON.stringify(doc, undefined, 2)}\n` : valuesYaml(line.addon, doc, request));
    return EXIT.OK;
  } catch (e) {
    const error = e instanceof Error ? e : new Error(String(e));
    const code = exitCodeOf(error);
    if (line.output === 'json') io.stdout.write(`${JSON.stringify({ error: { kind: error.name.replace(/Error$/, ''), message: error.message } }, undefined, 2)}\n`);
    else io.stderr.write(`${errorTitle(code)}: ${error.message}\n`);
    return code;
  }
}

export function exitCodeOf(e: unknown): number {
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
    default: return 'Error';
  }
}

function packageVersion(): string {
  // lib/cli/main.js and src/cli/main.ts are both two levels below package.json.
  return JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')).version;
}
