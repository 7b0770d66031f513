import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');

/**
 * The largest file the package needs is the minified handler bundle (about 0.6 MB). 5 MB leaves it room to grow and
 * still catches what must never ship: etcd's data (64 MB WAL files), a packed tarball, a binary.
 */
const MAX_FILE_BYTES = 5 * 1024 * 1024;

/** Top-level entries of the package; anything else at the top level is a leak (see .projenrc.ts). */
const TOP_LEVEL = ['.jsii', '.jsii.tabl.json', 'API.md', 'LICENSE', 'README.md', 'assets', 'lib', 'node_modules', 'package.json', 'rosetta'];

/** Names of keys, certificates and credentials, as controlplane.sh, the test identities and the fault proxy write them. */
const SECRET_NAME = /(\.(key|pem|crt|csr|srl|p12|pfx)|(^|\/)(tokens[^/]*|kubeconfig|connection\.json|\.env(\.[^/]*)?|id_(rsa|ecdsa|ed25519)))$/;

interface PackedFile {
  readonly path: string;
  readonly size: number;
}

interface Packed {
  readonly files: readonly PackedFile[];
  /** Files planted before packing, relative to the project root; none may be in the package. */
  readonly planted: readonly string[];
}

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const BUNDLED: readonly string[] = pkg.bundledDependencies ?? [];

/**
 * The files `npm pack` would put in the package, with decoys planted first where a leak would come from: the local
 * control plane's state directory, and a shipped directory (lib/) for the patterns that apply at any depth.
 */
function pack(): Packed {
  const built = ['lib/index.js', 'lib/cli/main.js', 'assets/vpc-cni-ownership.lambda/index.js', '.jsii'];
  const missing = built.filter((f) => !fs.existsSync(path.join(ROOT, f)));
  if (missing.length > 0) {
    throw new Error(`Not built: ${missing.join(', ')}. The package check needs the compiled library and the bundled `
      + 'handler; run it through "npx projen build", or run "npx projen bundle" and "npx projen compile" first.');
  }
  fs.mkdirSync(path.join(ROOT, '.controlplane'), { recursive: true });
  const stateDecoy = fs.mkdtempSync(path.join(ROOT, '.controlplane', 'pack-test-'));
  const libDecoy = path.join(ROOT, 'lib', `pack-test-${process.pid}`);
  const planted = [
    ...['ca.key', 'tokens.csv', 'kubeconfig', 'connection.json'].map((name) => path.join(stateDecoy, name)),
    ...['admin.key', 'proxy.pem', '.env'].map((name) => path.join(libDecoy, name)),
  ];
  try {
    fs.mkdirSync(libDecoy);
    for (const file of planted) fs.writeFileSync(file, 'planted by test/package/pack.test.ts\n');
    // --ignore-scripts: only the file list matters here, not lifecycle scripts.
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024,
    });
    const [result] = JSON.parse(out);
    return { files: result.files, planted: planted.map((file) => path.relative(ROOT, file)) };
  } finally {
    fs.rmSync(stateDecoy, { recursive: true, force: true });
    fs.rmSync(libDecoy, { recursive: true, force: true });
  }
}

describe('npm package contents', () => {
  let packed: Packed;
  let paths: string[];
  beforeAll(() => {
    packed = pack();
    paths = packed.files.map((f) => f.path);
  });

  test('holds the library, the CLI, the bundled handler, the jsii assembly and the docs npm shows', () => {
    const bins: string[] = Object.values(pkg.bin ?? {});
    expect(bins).toContain('lib/cli/main.js');
    for (const file of ['lib/index.js', 'lib/index.d.ts', pkg.main, pkg.types, ...bins, 'assets/vpc-cni-ownership.lambda/index.js',
      '.jsii', '.jsii.tabl.json', 'API.md', 'README.md', 'LICENSE', 'package.json']) {
      expect(paths).toContain(file);
    }
  });

  test('the decoys planted in the control plane state and in lib/ are left out', () => {
    expect(packed.planted).toHaveLength(7);
    expect(paths.filter((p) => packed.planted.includes(p))).toEqual([]);
  });

  test('has only the package\'s own top-level entries, and no dependency but the bundled ones', () => {
    const topLevel = [...new Set(paths.map((p) => p.split('/')[0]))];
    expect(topLevel.filter((entry) => !TOP_LEVEL.includes(entry))).toEqual([]);
    const dependencies = [...new Set(paths.filter((p) => p.startsWith('node_modules/')).map((p) => p.split('/')[1]))];
    expect(dependencies.filter((dep) => !BUNDLED.includes(dep))).toEqual([]);
  });

  test('has no control plane state, tests, fixtures, smoke or integ apps, docs or TypeScript sources', () => {
    const outside = /^(\.controlplane|test|smoke|integ|docs|src|\.ci|projenrc|dist|coverage)\//;
    expect(paths.filter((p) => outside.test(p))).toEqual([]);
    expect(paths.filter((p) => p.endsWith('.ts') && !p.endsWith('.d.ts'))).toEqual([]);
  });

  test('has no key, certificate, token, kubeconfig or credentials file', () => {
    expect(paths.filter((p) => SECRET_NAME.test(p))).toEqual([]);
  });

  test(`has no file over ${MAX_FILE_BYTES / 1024 / 1024} MB`, () => {
    expect(packed.files.filter((f) => f.size > MAX_FILE_BYTES).map((f) => `${f.path} (${f.size} bytes)`)).toEqual([]);
  });
});

/** The handler's bundle, as `bundle` writes it and the library's Function points at it (lib/vpc-cni-ownership-function.js). */
const HANDLER_ASSET = 'assets/vpc-cni-ownership.lambda/index.js';

interface TaskStep {
  readonly spawn?: string;
  readonly exec?: string;
  readonly execArgs?: readonly string[];
}

const TASKS: Record<string, { readonly steps?: readonly TaskStep[] }> = JSON.parse(
  fs.readFileSync(path.join(ROOT, '.projen', 'tasks.json'), 'utf8')).tasks;

/** The commands a task runs, in order, with the tasks it spawns expanded (conditions ignored: every branch counts). */
function commandsOf(task: string, seen: readonly string[] = []): string[] {
  if (seen.includes(task)) throw new Error(`task cycle: ${[...seen, task].join(' -> ')}`);
  if (!TASKS[task]) throw new Error(`no task ${task} in .projen/tasks.json`);
  return (TASKS[task].steps ?? []).flatMap((step) => step.spawn ? commandsOf(step.spawn, [...seen, task])
    : step.exec ? [step.exec] : step.execArgs ? [step.execArgs.join(' ')] : []);
}

describe('packaging bundles the Lambda handler first', () => {
  const bundles = (command: string) => command.startsWith('esbuild ') && command.includes(`--outfile=${HANDLER_ASSET}`);

  test.each(['package', 'package-all', 'package:js', 'package:java', 'package:python', 'package:dotnet', 'package:go',
    'release', 'build', 'smoke', 'smoke:python', 'smoke:java', 'smoke:go'])('%s: every jsii-pacmak run comes after the bundle', (task) => {
    const commands = commandsOf(task);
    const packs = commands.flatMap((command, at) => command.startsWith('jsii-pacmak') ? [at] : []);
    expect(packs.length).toBeGreaterThan(0);
    for (const at of packs) {
      expect({ pack: commands[at], bundledBefore: commands.slice(0, at).some(bundles) }).toEqual({ pack: commands[at], bundledBefore: true });
    }
  });

  test('no other task runs jsii-pacmak without bundling first', () => {
    const unbundled = Object.keys(TASKS).filter((task) => {
      const commands = commandsOf(task);
      return commands.some((command, at) => command.startsWith('jsii-pacmak') && !commands.slice(0, at).some(bundles));
    });
    expect(unbundled).toEqual([]);
  });

  /**
   * A clean clone that was compiled but never bundled (the issue: `npx projen compile && npx projen package:js` made a
   * tarball without assets/ and apps failed with `Cannot find asset`): a copy of what packaging reads, without assets/,
   * packed with the project's own task.
   */
  test('package:js on a compiled copy without assets/ makes a tarball that holds the handler the library points at', () => {
    const functionJs = fs.readFileSync(path.join(ROOT, 'lib', 'vpc-cni-ownership-function.js'), 'utf8');
    expect(functionJs).toContain('\'../assets/vpc-cni-ownership.lambda\'');
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'package-js-'));
    try {
      for (const entry of ['package.json', '.npmignore', '.projen', 'src', 'lib', '.jsii', 'tsconfig.json', 'test/tsconfig.json',
        'README.md', 'LICENSE', 'API.md', 'rosetta']) {
        fs.cpSync(path.join(ROOT, entry), path.join(copy, entry), { recursive: true });
      }
      fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
      expect(fs.existsSync(path.join(copy, 'assets'))).toBe(false);

      execFileSync('npx', ['projen', 'package:js'], { cwd: copy, stdio: 'pipe', env: { ...process.env, CI: 'true' } });

      const tarballs = fs.readdirSync(path.join(copy, 'dist', 'js')).filter((f) => f.endsWith('.tgz'));
      expect(tarballs).toEqual([`cdk-vpc-cni-ownership@${pkg.version}.jsii.tgz`]);
      const listing = execFileSync('tar', ['-tzvf', path.join(copy, 'dist', 'js', tarballs[0])], { encoding: 'utf8' });
      const entry = listing.split('\n').find((line) => line.endsWith(` package/${HANDLER_ASSET}`));
      expect(entry).toBeDefined();
      // tar -v: permissions, owner, size, date, time, name. The minified handler is about 0.6 MB; a stub would be tiny.
      expect(Number(entry!.trim().split(/\s+/)[2])).toBeGreaterThan(100 * 1024);
      for (const file of ['lib/index.js', 'lib/cli/main.js', 'lib/vpc-cni-ownership-function.js', '.jsii']) {
        expect(listing).toContain(` package/${file}\n`);
      }
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  });
});
