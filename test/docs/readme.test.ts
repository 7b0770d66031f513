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

describe('every TypeScript example compiles as pasted', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ts: typeof import('typescript') = require('typescript');
  const blocks = [...README.matchAll(/```ts([^\n]*)\n([\s\S]*?)```/g)].map((m, i) => ({ index: i + 1, info: m[1].trim(), code: m[2] }));

  test('there are examples, and each is a whole file: its imports, no fixture (rosetta compiles it as it is too)', () => {
    expect(blocks.length).toBeGreaterThan(5);
    for (const block of blocks) {
      expect({ block: block.index, info: block.info }).toEqual({ block: block.index, info: 'nofixture' });
      expect({ block: block.index, imports: /^import /m.test(block.code) }).toEqual({ block: block.index, imports: true });
    }
  });

  test('type-checked as files of an app that installed this package (and the kubectl layer), with strict settings', () => {
    const dir = fs.mkdtempSync(path.join(ROOT, 'node_modules', '.readme-examples-'));
    try {
      const files = blocks.map((b) => {
        const file = path.join(dir, `example-${b.index}.ts`);
        fs.writeFileSync(file, b.code);
        return file;
      });
      const program = ts.createProgram(files, {
        strict: true,
        noEmit: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.CommonJS,
        moduleResolution: ts.ModuleResolutionKind.Node10,
        esModuleInterop: true,
        skipLibCheck: true,
        types: [],
        baseUrl: ROOT,
        // The package as a user's app resolves it: its name, to this repository's sources.
        paths: { [PACKAGE.name]: ['src/index.ts'] },
      });
      const problems = ts.getPreEmitDiagnostics(program)
        .filter((d) => d.file && files.includes(path.resolve(d.file.fileName)))
        .map((d) => {
          const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
          return `${path.basename(d.file!.fileName)}:${line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
        });
      expect(problems).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
