import * as fs from 'fs';
import * as path from 'path';
import { CommandLine, commandHelp, parseArgs, USAGE, UsageError } from './args';
import { EXIT } from './exit-codes';
import { connect, kubeconfigFiles, loadKubeconfig, resolveContext, UnknownContextError } from './kubeconfig';
import { renderJson, renderTable, Report } from './render';
import { KubeClient, OwnedByOthersError, run, UnexpectedClusterStateError } from '../engine';

export { EXIT } from './exit-codes';

export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: NodeJS.ProcessEnv;
}

/** An EKS managed add-on can only be taken over through the EKS API, which this CLI does not call. */
export class ManagedAddonRefusal extends Error {
  constructor(command: string) {
    super(`Refusing to ${command} the VPC CNI: it is an EKS managed add-on (--managed-addon), and EKS would keep writing it. `
      + 'Nothing was changed. Delete the add-on first, keeping its objects: '
      + 'aws eks delete-addon --cluster-name CLUSTER --addon-name vpc-cni --preserve; then run this again without --managed-addon.');
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

  let report: Report = { line };
  try {
    const { files, explicit } = kubeconfigFiles(line.kubeconfig, io.env);
    const target = resolveContext(loadKubeconfig(files, explicit), line.context);
    report = { ...report, context: target.context, server: target.server };
    const client = new KubeClient(await connect(target, io.env));
    try {
      const options = { action: line.action, facts: { managedAddon: line.managedAddon }, ifOwnedByOthers: line.ifOwnedByOthers };
      // The construct deletes a managed add-on through the EKS API before a TAKE_OVER; this CLI cannot, so it
      // plans first and refuses when there is anything to write. restore only removes our own key (no guard).
      const takesOverAddon = line.managedAddon && line.ifOwnedByOthers === 'TAKE_OVER' && !line.dryRun && line.command !== 'restore';
      if (takesOverAddon && (await run(client, { ...options, dryRun: true })).plan.writes.length > 0) {
        throw new ManagedAddonRefusal(line.command);
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
    report = { ...report, exitCode: EXIT.OK };
  } catch (e) {
    report = { ...report, exitCode: exitCodeOf(e), error: e instanceof Error ? e : new Error(String(e)) };
  }

  if (line.output === 'json') {
    io.stdout.write(`${JSON.stringify(renderJson(report), undefined, 2)}\n`);
  } else {
    if (report.result) io.stdout.write(`${renderTable(report)}\n`);
    if (report.error) io.stderr.write(`${errorTitle(report.exitCode!)}: ${report.error.message}\n`);
    // The engine's message names the construct's property; say it the CLI's way too.
    if (report.error instanceof OwnedByOthersError) io.stderr.write('With this CLI: --if-owned-by-others TAKE_OVER or SKIP.\n');
  }
  return report.exitCode!;
}

export function exitCodeOf(e: unknown): number {
  if (e instanceof UnknownContextError) return EXIT.USAGE;
  if (e instanceof OwnedByOthersError || e instanceof ManagedAddonRefusal) return EXIT.REFUSED;
  if (e instanceof UnexpectedClusterStateError) return EXIT.UNEXPECTED_STATE;
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
