/**
 * cdk-nag AwsSolutions on every integ app (integ/nag.ts): no unsuppressed finding, every suppression
 * with its reason, and this library's resources suppressed only by this library's own, specific reasons.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';

const ROOT = path.resolve(__dirname, '..', '..');
const APPS = fs.readdirSync(path.join(ROOT, 'integ')).filter((f) => /^integ\..*\.ts$/.test(f));
const OURS = /\/(VpcCniOwnershipHandler|CiliumOperatorRole)\//;

interface Row { readonly rule: string; readonly resource: string; readonly compliance: string; readonly reason: string }

async function nagReport(app: string): Promise<Row[]> {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'nag-'));
  try {
    await promisify(execFile)('npx', ['ts-node', '-T', '--project', 'test/tsconfig.json', `integ/${app}`], {
      cwd: ROOT, env: { ...process.env, CDK_OUTDIR: out }, maxBuffer: 64 * 1024 * 1024,
    });
    return fs.readdirSync(out).filter((f) => f.endsWith('-NagReport.csv')).flatMap((f) =>
      fs.readFileSync(path.join(out, f), 'utf8').trim().split('\n').slice(1).map((line) => {
        const [rule, resource, compliance, reason] = csvFields(line);
        return { rule, resource, compliance, reason };
      }));
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

/** One CSV line: quoted fields, with "" for a quote inside one. */
function csvFields(line: string): string[] {
  const fields: string[] = [];
  const re = /"((?:[^"]|"")*)"|([^,]*)/g;
  for (let m = re.exec(line); m && m.index <= line.length; m = re.exec(line)) {
    fields.push(m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]);
    if (re.lastIndex >= line.length) break;
    re.lastIndex++; // the comma
  }
  return fields;
}

const reports = new Map<string, Row[]>();

beforeAll(async () => {
  // Two at a time: each synth is a Node process of its own.
  const queue = [...APPS];
  await Promise.all([0, 1].map(async () => {
    for (let app = queue.shift(); app; app = queue.shift()) reports.set(app, await nagReport(app));
  }));
}, 300_000);

test('every integ app is checked', () => {
  expect(APPS.length).toBeGreaterThanOrEqual(9);
  for (const app of APPS) expect(reports.get(app)!.length).toBeGreaterThan(0);
});

test.each(APPS)('%s: no unsuppressed AwsSolutions finding', (app) => {
  expect(reports.get(app)!.filter((r) => r.compliance === 'Non-Compliant').map((r) => `${r.rule} ${r.resource}`)).toEqual([]);
});

test.each(APPS)('%s: the handler function runs on the latest Node.js runtime, so AwsSolutions-L1 finds nothing to suppress there', (app) => {
  const handlerL1 = reports.get(app)!.filter((r) => r.rule === 'AwsSolutions-L1' && /\/VpcCniOwnershipHandler\/Function\//.test(r.resource));
  expect(handlerL1.length).toBeGreaterThan(0);
  expect(handlerL1.map((r) => r.compliance)).toEqual(handlerL1.map(() => 'Compliant'));
});

test.each(APPS)('%s: every suppression has a reason; this library\'s own resources only this library\'s reasons', (app) => {
  const suppressed = reports.get(app)!.filter((r) => r.compliance === 'Suppressed');
  for (const r of suppressed) expect(r.reason.length).toBeGreaterThan(40);
  for (const r of suppressed.filter((x) => OURS.test(x.resource))) {
    expect({ resource: r.resource, reason: r.reason }).toEqual({ resource: r.resource, reason: expect.not.stringContaining('aws-cdk-lib\'s') });
  }
});
