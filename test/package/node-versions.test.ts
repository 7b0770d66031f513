import * as fs from 'fs';
import * as path from 'path';
import * as semver from 'semver';

/**
 * The Node.js versions the project states, and what its dependencies ask for. Users: package.json `engines` (the
 * library, its CLI and their dependencies, in every language: the bindings run the library in Node.js). Contributors:
 * `devEngines` (the whole toolchain in package-lock.json). The README and CONTRIBUTING.md say the same; the GitHub
 * workflows run a version inside both. Set in projenrc/release.ts.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

interface LockEntry {
  readonly version?: string;
  readonly engines?: { readonly node?: string } | readonly string[];
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
}

const pkg = JSON.parse(read('package.json'));
const lock: Record<string, LockEntry> = JSON.parse(read('package-lock.json')).packages;
const users: string = pkg.engines.node;
const contributors: string = pkg.devEngines.runtime.version;

/** A package's `engines.node`, where it states one (a few old packages give engines as an array: no Node.js range). */
function nodeRange(entry: LockEntry): string | undefined {
  return !entry.engines || Array.isArray(entry.engines) ? undefined : (entry.engines as { node?: string }).node;
}

/** Node.js module resolution over package-lock.json's paths: `name` as required from the package at `from`. */
function resolve(from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = base ? `${base}/node_modules/${name}` : `node_modules/${name}`;
    if (lock[candidate]) return candidate;
    if (!base) return undefined;
    const parent = base.lastIndexOf('/node_modules/');
    base = parent === -1 ? '' : base.slice(0, parent);
  }
}

/** What a user's app loads with the library: its dependencies and peer dependencies, and theirs, transitively. */
function runtimeClosure(): string[] {
  const found = new Set<string>();
  const visit = (from: string, names: readonly string[]) => {
    for (const name of names) {
      const at = resolve(from, name);
      if (!at || found.has(at)) continue;
      found.add(at);
      const entry = lock[at];
      visit(at, Object.keys({ ...entry.dependencies, ...entry.optionalDependencies, ...entry.peerDependencies }));
    }
  };
  visit('', Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies }));
  return [...found];
}

/** The packages whose engines.node does not accept every version of `range`. */
function refusing(paths: readonly string[], range: string): string[] {
  return paths.flatMap((at) => {
    const wanted = nodeRange(lock[at]);
    return wanted && !semver.subset(range, wanted) ? [`${at}@${lock[at].version} wants node ${wanted}`] : [];
  });
}

describe('Node.js versions', () => {
  test('users: engines is a valid range, and the library\'s dependencies run on every version it admits', () => {
    expect(semver.validRange(users)).not.toBeNull();
    const closure = runtimeClosure();
    // aws-cdk-lib (with the packages it bundles), constructs and yaml at least.
    expect(closure).toEqual(expect.arrayContaining(['node_modules/aws-cdk-lib', 'node_modules/constructs', 'node_modules/yaml']));
    expect(refusing(closure, users)).toEqual([]);
  });

  test('contributors: devEngines fails npm outside the range, and every package in package-lock.json runs on all of it', () => {
    expect(pkg.devEngines.runtime).toEqual({ name: 'node', version: contributors, onFail: 'error' });
    expect(semver.validRange(contributors)).not.toBeNull();
    expect(refusing(Object.keys(lock).filter((at) => at !== ''), contributors)).toEqual([]);
  });

  test.each([
    ['users', () => users, runtimeClosure],
    ['contributors', () => contributors, () => Object.keys(lock).filter((at) => at !== '')],
  ])('%s: the range is as wide as the packages allow (just below each lower bound, some package refuses)', (_who, range, packages) => {
    const paths = packages();
    for (const bound of range().split('||').map((part) => semver.minVersion(part.trim())!)) {
      const below = bound.patch > 0 ? `${bound.major}.${bound.minor}.${bound.patch - 1}`
        : bound.minor > 0 ? `${bound.major}.${bound.minor - 1}.99` : `${bound.major - 1}.99.99`;
      const refusedBy = paths.filter((at) => nodeRange(lock[at]) && !semver.satisfies(below, nodeRange(lock[at])!));
      expect({ below, refused: refusedBy.length > 0 }).toEqual({ below, refused: true });
    }
  });

  test('contributors need nothing users are not allowed to run', () => {
    expect(semver.subset(contributors, users)).toBe(true);
  });

  test('the README states the users\' minimum, and CONTRIBUTING.md the contributors\' range', () => {
    const minimum = semver.minVersion(users)!.version;
    const stated = [...read('README.md').matchAll(/Node\.js (\d+\.\d+\.\d+) or newer/g)].map((m) => m[1]);
    expect(stated.length).toBeGreaterThan(0);
    expect([...new Set(stated)]).toEqual([minimum]);
    expect(read('CONTRIBUTING.md')).toContain(`\`${contributors}\``);
  });

  test('the GitHub workflows set up a Node.js line the contributors\' range admits', () => {
    const workflows = fs.readdirSync(path.join(ROOT, '.github', 'workflows')).map((f) => read(path.join('.github', 'workflows', f)));
    const versions = [...new Set(workflows.flatMap((text) => [...text.matchAll(/node-version: (\S+)/g)].map((m) => m[1])))];
    expect(versions.length).toBeGreaterThan(0);
    for (const version of versions) expect({ version, admitted: semver.intersects(version, contributors) }).toEqual({ version, admitted: true });
  });
});

describe('API stability', () => {
  test('below 1.0 the package and its jsii assembly are experimental', () => {
    // The release task runs the tests with the bumped version (0.1.0 and up), the repository with 0.0.0.
    if (semver.major(pkg.version) < 1) expect(pkg.stability).toBe('experimental');
    const assembly = path.join(ROOT, '.jsii');
    if (!fs.existsSync(assembly)) throw new Error('Not compiled: .jsii is missing; run "npx projen compile" first.');
    const jsii = JSON.parse(fs.readFileSync(assembly, 'utf8'));
    expect(jsii.version).toBe(pkg.version);
    const types: Array<{ fqn: string; docs?: { stability?: string } }> = Object.values(jsii.types ?? {});
    expect(types.length).toBeGreaterThan(0);
    expect(types.filter((t) => t.docs?.stability !== pkg.stability).map((t) => t.fqn)).toEqual([]);
  });
});
