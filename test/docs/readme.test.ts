/**
 * The README as Construct Hub and the package registries show it: links into the repository must be
 * absolute (relative ones resolve against the registry page and break there), the files they name
 * must exist, and the install lines must name the packages the jsii targets publish.
 */
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const PACKAGE = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const REPOSITORY = PACKAGE.repository.url.replace(/^git\+/, '').replace(/\.git$/, '');

/** Every markdown link target, outside code blocks. */
function linkTargets(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]);
}

test('the two commands come first', () => {
  const firstBlock = /```sh\n([\s\S]*?)```/.exec(README)![1];
  expect(README.indexOf('```')).toBe(README.indexOf('```sh'));
  expect(firstBlock.split('\n').filter(Boolean).map((line) => line.split('#')[0].trim()))
    .toEqual(['npm ci && npx projen demo', 'npm ci && npx projen build']);
});

test('no link points into the repository relatively (it would break on Construct Hub)', () => {
  const relative = linkTargets(README).filter((target) => !/^(https?:|mailto:|#)/.test(target));
  expect(relative).toEqual([]);
});

test('every link into the repository names the main branch and a file that exists', () => {
  const prefix = `${REPOSITORY}/blob/main/`;
  const internal = linkTargets(README).filter((target) => target.startsWith(REPOSITORY));
  expect(internal.length).toBeGreaterThan(0);
  for (const target of internal) {
    expect(target.startsWith(prefix)).toBe(true);
    const file = target.slice(prefix.length).split('#')[0];
    expect({ target, exists: fs.existsSync(path.join(ROOT, file)) }).toEqual({ target, exists: true });
  }
});

test('the install lines name the package of every jsii target', () => {
  const targets = PACKAGE.jsii.targets;
  expect(README).toContain(`npm install ${PACKAGE.name}`);
  expect(README).toContain(`pip install ${targets.python.distName}`);
  expect(README).toContain(`from ${targets.python.module} import`);
  expect(README).toContain(`<groupId>${targets.java.maven.groupId}</groupId>`);
  expect(README).toContain(`<artifactId>${targets.java.maven.artifactId}</artifactId>`);
  expect(README).toContain(`import ${targets.java.package}.`);
  expect(README).toContain(`dotnet add package ${targets.dotnet.packageId}`);
  expect(README).toContain(`using ${targets.dotnet.namespace};`);
  expect(README).toContain(`go get ${targets.go.moduleName}/`);
});
