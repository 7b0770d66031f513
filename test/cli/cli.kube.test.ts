/**
 * The `cdk-vpc-cni-ownership` CLI against the REAL control plane of the jest run, through the
 * kubeconfig kinds people have: a bearer token, a client certificate (files or -data), a token file,
 * and an exec plugin (our stand-in for `aws eks get-token`). Cluster states are made with the real
 * kubectl and helm, as in the engine tests.
 */
import { execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parse as parseYaml, stringify } from 'yaml';
import { EXIT } from '../../src/cli/cli';
import { KubeClient } from '../../src/engine';
import { Outcome, runCliCaptured } from '../support/cli-run';
import { awsNodeEnv, CHART, Cli, connection, DS, EKS_REGION, Fixtures, getLive, RELEASE, resetCluster, snapshot } from '../support/cluster';
import { ConnectProxy } from '../support/connect-proxy';
import { blackHole, closedPort, FaultProxy } from '../support/fault-proxy';
import { certificateIdentity, unrelatedCa } from '../support/identity';
import { LAYER_PACKAGES, layerTools } from '../support/tools';

const ROOT = path.resolve(__dirname, '..', '..');
const EXEC_PLUGIN = path.join(__dirname, 'exec-credential.sh');
const FAKE_AWS = path.join(__dirname, 'fake-aws.sh');
const CONFIG_MAP = 'ConfigMap/kube-system/amazon-vpc-cni';
const POLICY_ENDPOINT_CRD = 'CustomResourceDefinition/policyendpoints.networking.k8s.aws';
const INSTALL = ['install', RELEASE, CHART, '--namespace', 'kube-system', '--set', 'originalMatchLabels=true'];

interface Files { endpoint: string; caFile: string; token: string; clientCertFile: string; clientKeyFile: string; kubeconfig: string }
const files: Files = JSON.parse(fs.readFileSync(path.join(process.env.CNI_TEST_CONTROLPLANE!, 'connection.json'), 'utf8'));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-cli-'));
// A HOME without ~/.kube/config, so nothing on the machine leaks into a test.
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-cli-home-'));

const admin = new KubeClient(connection());
const tools = layerTools(LAYER_PACKAGES[0]);
const kube = new Cli(tools);
const fixtures = new Fixtures(kube);

afterAll(() => {
  admin.close();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(home, { recursive: true, force: true });
});
beforeEach(async () => resetCluster(admin));

const cli = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<Outcome> => runCliCaptured(args, home, env);

/** Runs with --output json; the document must parse whatever the exit code. */
async function cliJson(args: string[], env: NodeJS.ProcessEnv = {}) {
  const out = await cli([...args, '--output', 'json'], env);
  return { ...out, json: JSON.parse(out.stdout) };
}

const b64 = (file: string) => fs.readFileSync(file).toString('base64');

/** src/cli/main.ts in a process of its own (for what Node.js reads only at start, like NODE_EXTRA_CA_CERTS). */
function runMain(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(ROOT, 'src', 'cli', 'main.ts'), ...args], {
    encoding: 'utf8', env: { PATH: process.env.PATH, HOME: home, TS_NODE_PROJECT: path.join(ROOT, 'tsconfig.json'), ...env },
  });
}

/** An http:// URL nothing listens on. */
async function closedHttpUrl(): Promise<string> {
  return (await closedPort()).replace('https://', 'http://');
}

/** A CA that did not sign the API server's certificate. */
const otherCa = () => unrelatedCa().file;

/** Writes a one-context kubeconfig with this user (and the control plane's cluster, CA as -data unless given). */
function kubeconfig(name: string, user: Record<string, unknown>, cluster: Record<string, unknown> = {}): string {
  const file = path.join(dir, `${name}.kubeconfig`);
  fs.writeFileSync(file, stringify({
    'apiVersion': 'v1',
    'kind': 'Config',
    'clusters': [{ name: 'c', cluster: { 'server': files.endpoint, 'certificate-authority-data': b64(files.caFile), ...cluster } }],
    'users': [{ name: 'u', user }],
    'contexts': [{ name, context: { cluster: 'c', user: 'u' } }],
    'current-context': name,
  }));
  return file;
}

/** A client certificate signed by the control plane's CA, for user `name`. */
function clientCertificate(name: string): { cert: string; key: string } {
  const { certFile, keyFile } = certificateIdentity(name, []);
  return { cert: certFile, key: keyFile };
}

/**
 * Runs `body` with a kubeconfig for user `name` (a client certificate), who may read every VPC CNI
 * object and do what `rules` add; the RBAC is deleted afterwards.
 */
async function asLimitedUser(name: string, rules: object[], body: (kubeconfigFile: string) => Promise<void>): Promise<void> {
  const { cert, key } = clientCertificate(name);
  const rbac = [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name },
      rules: [{ apiGroups: ['', 'apps', 'rbac.authorization.k8s.io', 'apiextensions.k8s.io'], resources: ['*'], verbs: ['get'] }, ...rules],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name }],
    },
  ];
  kube.kubectl(['apply', '-f', '-'], rbac.map((m) => JSON.stringify(m)).join('\n---\n'));
  try {
    await body(kubeconfig(name, { 'client-certificate': cert, 'client-key': key }));
  } finally {
    kube.kubectl(['delete', `clusterrolebinding/${name}`, `clusterrole/${name}`]);
  }
}

describe('usage', () => {
  test('--help prints the commands, options and exit codes; exit 0', async () => {
    const out = await cli(['--help']);
    expect(out.code).toBe(EXIT.OK);
    for (const word of ['inspect', 'plan <action>', 'adopt', 'remove', 'disable', 'restore', '--if-owned-by-others', '--managed-addon', 'Exit codes',
      '\n  4  unexpected', '\n  5  --strict', '\n  130  interrupted']) {
      expect(out.stdout).toContain(word);
    }
  });

  test.each([
    ['adopt', ['--release-name NAME', 'the Helm release (default aws-vpc-cni)', '--release-namespace NS', '(default kube-system), the only one accepted',
      '--field-manager NAME', '(default helm, Helm\'s manager)', 'Not eks or kubectl-client-side-apply', '--hand-over MANAGER', 'repeat it for several',
      '--if-owned-by-others WHAT', 'FAIL (default)', '--dry-run', 'checked by the API server (dryRun=All)', 'SKIP left it as it is',
      'plan adopt" is the same as adopt --dry-run', 'a dry run (plan) found writes the API server would refuse'], ['--crd-policy', '--delete-policy-endpoint-crd']],
    ['remove', ['--crd-policy POLICY', 'KEEP, DELETE_IF_UNUSED (default) or DELETE', '--delete-policy-endpoint-crd', 'deleting it deletes\n',
      '--if-owned-by-others', '--dry-run'], ['--release-name', '--field-manager', '--hand-over']],
    ['disable', ['--if-owned-by-others', '--dry-run', 'restore undoes it'], ['--crd-policy', '--release-name']],
    ['restore', ['--dry-run', '\n  4  '], ['--if-owned-by-others', '--crd-policy', '\n  3  ']],
    ['inspect', ['Writes nothing', 'installed version and image registry', 'Without --addon'], ['--dry-run', '--if-owned-by-others', '\n  3  ', '\n  4  ', 'would refuse']],
  ])('%s --help: that command\'s options with their defaults, the cluster options and its exit codes; exit 0', async (command, has, hasNot) => {
    const out = await cli([command, '--help']);
    expect(out.code).toBe(EXIT.OK);
    expect(out.stdout).toMatch(new RegExp(`^Usage: cdk-vpc-cni-ownership ${command} \\[options\\]\n`));
    for (const text of [...has, '--kubeconfig FILE', '--context NAME', '--managed-addon', '-o, --output table|json', 'Exit codes:', '\n  0  done', '\n  2  usage',
      '\n  130  interrupted (Ctrl-C, SIGTERM): no write was started after the signal']) {
      expect(out.stdout).toContain(text);
    }
    for (const text of hasNot) expect(out.stdout).not.toContain(text);
    // The same help, however it is asked for.
    expect((await cli(['help', command])).stdout).toBe(out.stdout);
    expect((await cli([command, '-h', '--kubeconfig', 'x'])).stdout).toBe(out.stdout);
    if (command !== 'inspect') expect((await cli(['plan', command, '--help'])).stdout).toBe(out.stdout);
  });

  test('values --help: adopt, then values --strict, then helm install; that nothing restarts; yaml|json; no --managed-addon', async () => {
    const out = await cli(['values', '--help']);
    expect(out.code).toBe(EXIT.OK);
    expect(out.stdout).toMatch(/^Usage: cdk-vpc-cni-ownership values \[options\]\n/);
    for (const text of ['  cdk-vpc-cni-ownership adopt\n  cdk-vpc-cni-ownership values --strict > values.yaml\n'
      + '  helm install aws-vpc-cni eks/aws-vpc-cni --version <version> -n kube-system -f values.yaml',
    'after adopt --hand-over, the handed-over edits are the install\'s', 'Nothing restarts', 'Reads only', '--release-name NAME',
    '--chart-version VERSION', '--strict', 'exit 5 when installing the chart with the values would change what runs',
    '-o, --output yaml|json      default yaml', '\n  4  unexpected', '\n  5  --strict', '\n  130  interrupted']) {
      expect(out.stdout).toContain(text);
    }
    for (const text of ['--managed-addon', 'table', '--dry-run', '\n  3  ']) expect(out.stdout).not.toContain(text);
    expect((await cli(['help', 'values'])).stdout).toBe(out.stdout);
    expect((await cli(['--help'])).stdout).toMatch(/^ {2}values +the chart values that reproduce the running add-on \(aws-vpc-cni, or coredns with --addon coredns\)/m);
  });

  test('one order everywhere: adopt before values, in the overview, values --help and the README\'s takeover', async () => {
    const overview = (await cli(['--help'])).stdout;
    const commands = overview.slice(overview.indexOf('Commands:'), overview.indexOf('Cluster:')).split('\n').map((l) => /^ {2}(\S+)/.exec(l)?.[1]).filter((c) => c);
    expect(commands).toEqual(['inspect', 'plan', 'adopt', 'values', 'remove', 'disable', 'restore']);
    const help = (await cli(['values', '--help'])).stdout;
    expect(help.indexOf('cdk-vpc-cni-ownership adopt\n')).toBeLessThan(help.indexOf('cdk-vpc-cni-ownership values --strict >'));
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const takeover = readme.slice(readme.indexOf('Taking the VPC CNI over with plain Helm'));
    const block = takeover.slice(takeover.indexOf('```sh'), takeover.indexOf('```', takeover.indexOf('```sh') + 5));
    const steps = block.split('\n').map((l) => /^npx cdk-vpc-cni-ownership (\w+)|^(helm install)/.exec(l)).filter((m) => m).map((m) => m![1] ?? m![2]);
    expect(steps).toEqual(['adopt', 'values', 'helm install']);
  });

  test('plan --help names the actions; --help alone and help of an unknown command print the overview', async () => {
    const plan = await cli(['plan', '--help']);
    expect(plan.stdout).toMatch(/^Usage: cdk-vpc-cni-ownership plan <action> \[options\]\n/);
    expect(plan.stdout).toContain('Actions: adopt, remove, disable, restore');
    const overview = await cli(['--help']);
    expect(overview.stdout).toMatch(/^Usage: cdk-vpc-cni-ownership <command> \[options\]\n.*<command> --help +that command's options/);
    expect((await cli(['help'])).stdout).toBe(overview.stdout);
    expect((await cli(['frobnicate', '--help'])).stdout).toBe(overview.stdout);
  });

  test.each([
    [[], /No command given/],
    [['adopt', '--kubeconfig'], /--kubeconfig needs a value/],
    [['frobnicate'], /Unknown command "frobnicate"/],
    [['inspect', '--force'], /Unknown option --force/],
    [['inspect', 'extra'], /Unexpected argument "extra"/],
    [['plan'], /plan needs an action/],
    [['plan', 'inspect'], /plan inspect: not an action/],
    [['remove', '--release-name', 'x'], /--release-name does not apply to remove/],
    [['adopt', '--crd-policy', 'KEEP'], /--crd-policy does not apply to adopt/],
    [['restore', '--if-owned-by-others', 'TAKE_OVER'], /--if-owned-by-others does not apply to restore/],
    [['remove', '--crd-policy', 'SOMETIMES'], /--crd-policy must be one of KEEP, DELETE_IF_UNUSED, DELETE, not "SOMETIMES"/],
    [['adopt', '--if-owned-by-others', 'take_over'], /--if-owned-by-others must be one of FAIL, SKIP, TAKE_OVER/],
    [['adopt', '--release-name', 'Not_A_Release'], /--release-name "Not_A_Release" must be a DNS label/],
    [['adopt', '--field-manager='], /--field-manager needs a value/],
    [['remove', '-o', 'yaml'], /--output must be table or json, not "yaml"/],
    [['inspect', '--addon', 'calico'], /--addon must be one of vpc-cni, kube-proxy, coredns, not "calico"/],
    [['inspect', '--context', 'a', '--context', 'b'], /--context is given twice/],
    [['disable', '--dry-run=yes'], /--dry-run takes no value/],
    [['inspect', '--kubeconfig', '--context', 'x'], /--kubeconfig needs a value/],
    [['inspect', '-x'], /Unknown option -x/],
    [['inspect', '--version=1'], /--version takes no value/],
    [['inspect', '--', 'adopt'], /Unexpected argument "adopt"/],
    [['adopt', '--release-namespace', 'networking'],
      /^--release-namespace "networking" must be "kube-system", where the VPC CNI's objects live: .* a release in another namespace would start a second aws-node DaemonSet/],
    [['plan', 'adopt', '--release-namespace', 'kube-public'], /--release-namespace "kube-public" must be "kube-system"/],
    [['adopt', '--field-manager', 'eks'], /^--field-manager "eks" can never own the fields: give the field manager of the tool that will apply the chart/],
    [['adopt', '--field-manager', 'kubectl-client-side-apply'], /^--field-manager "kubectl-client-side-apply" can never own the fields/],
    [['adopt', '--hand-over', 'eks'], /^--hand-over entry "eks" is handed over \(or kept\) by the action itself; name imperative edits only, e.g. kubectl-set/],
    [['adopt', '--hand-over', 'kubectl-set', '--hand-over', 'helm'], /^--hand-over entry "helm" is the fieldManager itself/],
    [['adopt', '--hand-over'], /--hand-over needs a value/],
    [['remove', '--hand-over', 'kubectl-set'], /--hand-over does not apply to remove/],
    [['adopt', '--delete-policy-endpoint-crd'], /--delete-policy-endpoint-crd does not apply to adopt/],
    [['remove', '--delete-policy-endpoint-crd=yes'], /--delete-policy-endpoint-crd takes no value/],
    [['values', '-o', 'table'], /--output must be yaml or json, not "table"/],
    [['values', '--managed-addon'], /--managed-addon does not apply to values/],
    [['values', '--dry-run'], /--dry-run does not apply to values/],
    [['values', '--chart-version', 'v1.19.2-eksbuild.1'], /--chart-version "v1.19.2-eksbuild.1" must be an aws-vpc-cni chart version such as 1.19.2/],
    [['values', '--chart-version', '1.19.2', '--chart-version', '1.19.3'], /--chart-version is given twice/],
    [['inspect', '--chart-version', '1.19.2'], /--chart-version does not apply to inspect/],
  ])('%j: exit 2 with the reason, nothing on stdout', async (args, message) => {
    const out = await cli(args as string[], { KUBECONFIG: files.kubeconfig });
    expect(out.code).toBe(EXIT.USAGE);
    expect(out.stderr).toMatch(message as RegExp);
    expect(out.stderr).toContain('--help');
    expect(out.stdout).toBe('');
  });

  test.each([
    [['adopt', '--crd-policy', 'KEEP'], 'adopt'],
    [['plan', 'adopt', '--bogus'], 'adopt'],
    [['remove', '--crd-policy', 'SOMETIMES'], 'remove'],
    [['values', '-o', 'table'], 'values'],
    [['inspect', 'extra'], 'inspect'],
    [['plan', 'frobnicate'], 'plan'],
    [['help', 'restore', '--bogus'], 'restore'],
  ])('a usage error after a command points at that command\'s help: %j', async (args, command) => {
    const out = await cli(args);
    expect(out.code).toBe(EXIT.USAGE);
    expect(out.stderr.split('\n')[1]).toBe(`Run cdk-vpc-cni-ownership ${command} --help for what ${command} takes.`);
    expect((await cli([command, '--help'])).code).toBe(EXIT.OK);
  });

  test.each([[[]], [['frobnicate']], [['--bogus']]])('without a known command, a usage error points at the overview: %j', async (args) => {
    const out = await cli(args);
    expect(out.code).toBe(EXIT.USAGE);
    expect(out.stderr.split('\n')[1]).toBe('Run cdk-vpc-cni-ownership --help for the commands and options.');
  });

  test('a context the kubeconfig does not have: exit 2, naming the contexts it has', async () => {
    const out = await cli(['inspect', '--addon', 'vpc-cni', '--kubeconfig', files.kubeconfig, '--context', 'prod']);
    expect(out.code).toBe(EXIT.USAGE);
    expect(out.stderr).toMatch(/Context "prod" is not in the kubeconfig .*; it has: local, local-cert/);
  });
});

describe('kubeconfig and credentials', () => {
  beforeEach(() => fixtures.newEksCluster());

  test('the generated kubeconfig as $KUBECONFIG: its current context, a bearer token', async () => {
    const { code, json } = await cliJson(['inspect', '--addon', 'vpc-cni'], { KUBECONFIG: files.kubeconfig });
    expect(code).toBe(EXIT.OK);
    expect(json).toMatchObject({ context: 'local', server: files.endpoint, owner: { kind: 'EKS_BOOTSTRAP' } });
  });

  test('--context local-cert: the client certificate and key files', async () => {
    const { code, json } = await cliJson(['inspect', '--addon', 'vpc-cni', '--kubeconfig', files.kubeconfig, '--context', 'local-cert']);
    expect(code).toBe(EXIT.OK);
    expect(json.context).toBe('local-cert');
    expect(json.owner.kind).toBe('EKS_BOOTSTRAP');
  });

  test('client-certificate-data and client-key-data', async () => {
    const file = kubeconfig('cert-data', { 'client-certificate-data': b64(files.clientCertFile), 'client-key-data': b64(files.clientKeyFile) });
    expect((await cli(['inspect', '--addon', 'vpc-cni', '--kubeconfig', file])).code).toBe(EXIT.OK);
  });

  test('relative certificate-authority, client-certificate and key paths are relative to the kubeconfig, not the working directory', async () => {
    const sub = fs.mkdtempSync(path.join(dir, 'relative-'));
    for (const f of [files.caFile, files.clientCertFile, files.clientKeyFile]) fs.copyFileSync(f, path.join(sub, path.basename(f)));
    const file = path.join(sub, 'config');
    fs.renameSync(kubeconfig('relative', { 'client-certificate': path.basename(files.clientCertFile), 'client-key': path.basename(files.clientKeyFile) },
      { 'certificate-authority-data': undefined, 'certificate-authority': path.basename(files.caFile) }), file);
    expect((await cli(['inspect', '--addon', 'vpc-cni', '--kubeconfig', file])).code).toBe(EXIT.OK);
  });

  test('tokenFile', async () => {
    const tokenFile = path.join(dir, 'token');
    fs.writeFileSync(tokenFile, `${files.token}\n`);
    expect((await cli(['inspect', '--addon', 'vpc-cni', '--kubeconfig', kubeconfig('token-file', { tokenFile })])).code).toBe(EXIT.OK);
  });

  test('$KUBECONFIG with several files: merged as kubectl does (missing files skipped, first definition wins)', async () => {
    const contexts = path.join(dir, 'contexts.yaml');
    fs.writeFileSync(contexts, stringify({ 'current-context': 'merged', 'contexts': [{ name: 'merged', context: { cluster: 'local', user: 'admin-cert' } }] }));
    const shadow = path.join(dir, 'shadow.yaml');
    fs.writeFileSync(shadow, stringify({ users: [{ name: 'admin-cert', user: { token: 'not-the-token' } }] }));
    const list = [path.join(dir, 'missing.yaml'), contexts, files.kubeconfig, shadow].join(path.delimiter);
    const { code, json } = await cliJson(['inspect', '--addon', 'vpc-cni'], { KUBECONFIG: list });
    expect(code).toBe(EXIT.OK);
    expect(json.context).toBe('merged');

    // The other order: the shadowing user comes first and wins, and the API server rejects its token.
    const reordered = [contexts, shadow, files.kubeconfig].join(path.delimiter);
    const rejected = await cli(['inspect', '--addon', 'vpc-cni'], { KUBECONFIG: reordered });
    expect(rejected.code).toBe(EXIT.ERROR);
    expect(rejected.stderr).toMatch(/401/);
  });

  test('an exec plugin (client.authentication.k8s.io/v1): its args and env are passed, and KUBERNETES_EXEC_INFO with the cluster', async () => {
    const tokenFile = path.join(dir, 'exec-token');
    fs.writeFileSync(tokenFile, files.token);
    const file = kubeconfig('exec', {
      exec: {
        apiVersion: 'client.authentication.k8s.io/v1',
        command: EXEC_PLUGIN,
        args: ['token'],
        env: [{ name: 'TOKEN_FILE', value: tokenFile }, { name: 'REQUIRE_CLUSTER_INFO', value: '1' }],
        interactiveMode: 'Never',
        provideClusterInfo: true,
      },
    });
    // The same kubeconfig works for the real kubectl: the plugin is a faithful stand-in.
    expect(execFileSync(tools.kubectl, ['--kubeconfig', file, 'get', 'daemonset', 'aws-node', '-n', 'kube-system', '-o', 'name'], { encoding: 'utf8' }).trim())
      .toBe('daemonset.apps/aws-node');
    const { code, json } = await cliJson(['adopt', '--kubeconfig', file]);
    expect(code).toBe(EXIT.OK);
    expect(json.changed).toHaveLength(7);
  });

  test('an exec plugin (v1beta1) that returns a client certificate and key; a relative command is relative to the kubeconfig', async () => {
    const file = kubeconfig('exec-cert', {
      exec: {
        apiVersion: 'client.authentication.k8s.io/v1beta1',
        command: `.${path.sep}${path.relative(dir, EXEC_PLUGIN)}`,
        args: ['certificate'],
        env: [{ name: 'CERT_FILE', value: files.clientCertFile }, { name: 'KEY_FILE', value: files.clientKeyFile }],
      },
    });
    expect((await cli(['inspect', '--addon', 'vpc-cni', '--kubeconfig', file])).code).toBe(EXIT.OK);
  });

  test.each([
    ['a plugin that fails, with its own message', { command: EXEC_PLUGIN, args: ['token'], env: [{ name: 'TOKEN_FILE', value: '/nonexistent/token' }] },
      /exec plugin \S+exec-credential.sh failed: Command failed: .*\nexec-credential: ENOENT: no such file or directory, open '\/nonexistent\/token'$/m],
    ['a plugin that is not installed, with its install hint', { command: 'no-such-credential-plugin', installHint: 'Install the AWS CLI.' }, /no-such-credential-plugin failed.*ENOENT.*\nInstall the AWS CLI\./s],
    ['a plugin that prints no ExecCredential', { command: 'echo', args: ['{}'] }, /printed kind undefined, apiVersion undefined; expected an ExecCredential of client.authentication.k8s.io\/v1$/m],
    ['an unsupported exec apiVersion', { apiVersion: 'client.authentication.k8s.io/v1alpha1', command: 'true' }, /exec apiVersion "client.authentication.k8s.io\/v1alpha1" is not supported/],
    ['a plugin that needs a terminal', { command: 'true', interactiveMode: 'Always' }, /needs a terminal/],
  ])('%s: exit 1', async (_, exec, message) => {
    const file = kubeconfig('exec-bad', { exec: { apiVersion: 'client.authentication.k8s.io/v1', ...exec } });
    const out = await cli(['inspect', '--addon', 'vpc-cni', '--kubeconfig', file]);
    expect(out.code).toBe(EXIT.ERROR);
    expect(out.stderr).toMatch(message);
  });

  test.each([
    ['no kubeconfig at all', undefined, /No kubeconfig found \(looked for .*\.kube\/config\); pass --kubeconfig/],
    ['--kubeconfig that does not exist', '/nonexistent/kubeconfig', /Cannot read kubeconfig \/nonexistent\/kubeconfig/],
    ['a wrong token', () => kubeconfig('wrong-token', { token: 'wrong' }),
      /^Error: The API server https:\/\/127\.0\.0\.1:\d+ \(context "wrong-token"\) does not accept the credentials of user "u" \(GET .*: 401 Unauthorized.*\)\. Its token is not valid for this cluster/m],
    ['insecure-skip-tls-verify', () => kubeconfig('insecure', { token: files.token }, { 'certificate-authority-data': undefined, 'insecure-skip-tls-verify': true }),
      /insecure-skip-tls-verify is not supported/],
    ['another CA than the server\'s', () => kubeconfig('other-ca', { token: files.token }, { 'certificate-authority-data': b64(otherCa()) }),
      new RegExp('^Error: Cannot trust the API server https://127\\.0\\.0\\.1:\\d+ \\(context "other-ca"\\): its certificate is not signed by the CA in the '
        + 'kubeconfig \\(certificate-authority-data\\) \\(GET .*: unable to verify the first certificate\\)\\. Give cluster "c" in .*other-ca\\.kubeconfig the CA '
        + 'that signed the API server\'s certificate, as certificate-authority-data \\(base64 PEM\\) or certificate-authority \\(a PEM file\\)', 'm')],
    ['another CA than the server\'s, as a file', () => kubeconfig('other-ca-file', { token: files.token }, { 'certificate-authority-data': undefined, 'certificate-authority': otherCa() }),
      /its certificate is not signed by the CA file \S+ca\.crt \(certificate-authority\) \(GET .*: unable to verify the first certificate\)/],
    ['a user without credentials', () => kubeconfig('anonymous', {}), /user "u" has no token, client certificate or exec plugin/],
    ['nothing listening at the server', () => kubeconfig('closed', { token: files.token }, { server: 'https://127.0.0.1:1' }),
      /^Error: Cannot connect to the API server https:\/\/127\.0\.0\.1:1 \(context "closed"\): nothing accepts connections at 127\.0\.0\.1:1 \(GET .*: connect ECONNREFUSED 127\.0\.0\.1:1; 4 attempts\)\. Check the server address of cluster "c" in \S+closed\.kubeconfig, and that the cluster is running\.$/m],
    ['a server name that does not resolve', () => kubeconfig('no-such-name', { token: files.token }, { server: 'https://no-such-host.cni-ownership.invalid' }),
      /^Error: Cannot connect to the API server https:\/\/no-such-host\.cni-ownership\.invalid \(context "no-such-name"\): the name no-such-host\.cni-ownership\.invalid does not resolve here \(GET .*ENOTFOUND.*\)\. Check the server address .*a private endpoint answers only within its own network/m],
  ])('%s: exit 1 with the reason', async (_, kubeconfigFile, message) => {
    const file = typeof kubeconfigFile === 'function' ? kubeconfigFile() : kubeconfigFile;
    const out = await cli(['inspect', '--addon', 'vpc-cni', ...(file ? ['--kubeconfig', file] : [])]);
    expect(out.code).toBe(EXIT.ERROR);
    expect(out.stderr).toMatch(/^Error: /m);
    expect(out.stderr).toMatch(message);
    expect(out.stdout).toBe('');
  });
});

describe('proxies and CAs, as kubectl has them', () => {
  // A name only our proxy resolves (the API server's certificate has it): a success proves the tunnel.
  const PROXY_ONLY_NAME = 'apiserver.cni-ownership.test';
  const port = new URL(files.endpoint).port;
  const byName = `https://${PROXY_ONLY_NAME}:${port}`;
  let proxy: ConnectProxy;
  beforeEach(async () => {
    proxy = await ConnectProxy.start({ hosts: { [PROXY_ONLY_NAME]: '127.0.0.1' } });
  });
  afterEach(async () => proxy.close());

  test.each([
    ['HTTPS_PROXY', (url: string) => ({ HTTPS_PROXY: url })],
    ['https_proxy', (url: string) => ({ https_proxy: url })],
    ['HTTPS_PROXY without a scheme', (url: string) => ({ HTTPS_PROXY: url.replace('http://', '') })],
    ['HTTPS_PROXY, with NO_PROXY for other hosts', (url: string) => ({ HTTPS_PROXY: url, NO_PROXY: 'localhost,10.0.0.0/8,.example.com' })],
  ])('%s: the requests go through the proxy\'s tunnel, TLS verified end to end', async (_name, env) => {
    const file = kubeconfig('via-env-proxy', { token: files.token }, { server: byName });
    const { code, json } = await cliJson(['inspect', '--addon', 'vpc-cni', '--kubeconfig', file], env(proxy.url));
    expect(code).toBe(EXIT.OK);
    expect(json).toMatchObject({ server: byName, owner: { kind: 'ABSENT' } });
    expect(proxy.opened).toBeGreaterThanOrEqual(1);
    expect(new Set(proxy.tunnels.map((t) => t.target))).toEqual(new Set([`${PROXY_ONLY_NAME}:${port}`]));
  });

  test.each([
    ['NO_PROXY', { NO_PROXY: '.cni-ownership.test' }],
    ['no_proxy', { no_proxy: 'cni-ownership.test' }],
    ['NO_PROXY *', { NO_PROXY: '*' }],
  ])('%s: the server is exempt and reached directly (where its name does not resolve)', async (_name, noProxy) => {
    const file = kubeconfig('no-proxy', { token: files.token }, { server: byName });
    const out = await cli(['inspect', '--addon', 'vpc-cni', '--kubeconfig', file], { HTTPS_PROXY: proxy.url, ...noProxy });
    expect(out.code).toBe(EXIT.ERROR);
    expect(out.stderr).toMatch(/getaddrinfo ENOTFOUND apiserver\.cni-ownership\.test/);
    expect(proxy.tunnels).toEqual([]);
  });

  test('a loopback server is never reached through HTTPS_PROXY (as kubectl)', async () => {
    expect((await cli(['inspect', '--addon', 'vpc-cni', '--kubeconfig', files.kubeconfig], { HTTPS_PROXY: proxy.url })).code).toBe(EXIT.OK);
    expect(proxy.tunnels).toEqual([]);
  });

  test('the cluster\'s proxy-url: used for any server, before HTTPS_PROXY and whatever NO_PROXY says', async () => {
    fixtures.newEksCluster();
    const file = kubeconfig('proxy-url', { token: files.token }, { 'proxy-url': proxy.url });
    const { code, json } = await cliJson(['adopt', '--kubeconfig', file], { HTTPS_PROXY: await closedHttpUrl(), NO_PROXY: '*' });
    expect(code).toBe(EXIT.OK);
    expect(json.changed.length).toBeGreaterThan(0);
    expect(proxy.opened).toBeGreaterThanOrEqual(1);
    expect(new Set(proxy.tunnels.map((t) => t.target))).toEqual(new Set([`127.0.0.1:${port}`]));
  });

  test.each([
    ['a proxy-url that is not http://', () => kubeconfig('socks', { token: files.token }, { 'proxy-url': 'socks5://user:secret@127.0.0.1:1080' }), {},
      /^Error: cluster "c": proxy-url "socks5:\/\/…@127\.0\.0\.1:1080" is not supported; only http:\/\/ proxies \(HTTP CONNECT\)$/m],
    ['HTTPS_PROXY that is not http://', () => kubeconfig('env-socks', { token: files.token }, { server: byName }), { HTTPS_PROXY: 'socks5://127.0.0.1:1080' },
      /HTTPS_PROXY must be an http:\/\/ proxy \(HTTP CONNECT\), not socks5:/],
    ['a proxy nobody listens on', () => kubeconfig('proxy-down', { token: files.token }, { server: byName }), 'closed',
      /^Error: Cannot reach the API server https:\/\/apiserver\.cni-ownership\.test:\d+ \(context "proxy-down"\) through the proxy http:\/\/127\.0\.0\.1:\d+ \(HTTPS_PROXY\) \(GET .*: proxy 127\.0\.0\.1:\d+: connect ECONNREFUSED 127\.0\.0\.1:\d+; 4 attempts\)\. Check the proxy's address and that it runs, or exempt the server with NO_PROXY\.$/m],
    ['HTTPS_PROXY with credentials that is not a URL', () => kubeconfig('env-bad-url', { token: files.token }, { server: byName }),
      { HTTPS_PROXY: 'http://alice:S3cretPassw0rd@proxy.corp.example:31x28' }, /^Error: HTTPS_PROXY is not a URL: "http:\/\/…@proxy\.corp\.example:31x28"$/m],
    ['a proxy-url with credentials that is not a URL', () => kubeconfig('proxy-url-bad', { token: files.token }, { 'proxy-url': 'http://alice:S3cret/Passw0rd@proxy.corp.example:3128' }), {},
      /^Error: cluster "c": proxy-url "http:\/\/…@proxy\.corp\.example:3128" is not a URL$/m],
  ])('%s: exit 1 naming it (and no secret)', async (_name, file, env, message) => {
    const out = await cli(['inspect', '--addon', 'vpc-cni', '--kubeconfig', file()], env === 'closed' ? { HTTPS_PROXY: await closedHttpUrl() } : env as NodeJS.ProcessEnv);
    expect(out.code).toBe(EXIT.ERROR);
    expect(out.stderr).toMatch(message);
    for (const secret of ['secret', 'S3cret', 'alice', 'Passw0rd']) expect(out.stderr).not.toContain(secret);
  });

  test('a proxy that wants other credentials: exit 1, the proxy named without them, and what to do; JSON the same, no request counted', async () => {
    const guarded = await ConnectProxy.start({ hosts: { [PROXY_ONLY_NAME]: '127.0.0.1' }, credentials: { username: 'alice', password: 'right' } });
    try {
      const file = kubeconfig('proxy-auth', { token: files.token }, { server: byName });
      const env = { HTTPS_PROXY: guarded.url.replace('http://', 'http://alice:S3cretPassw0rd@') };
      const out = await cli(['inspect', '--addon', 'vpc-cni', '--kubeconfig', file], env);
      expect(out.code).toBe(EXIT.ERROR);
      expect(out.stderr).toMatch(/^Error: Cannot reach the API server https:\/\/apiserver\.cni-ownership\.test:\d+ \(context "proxy-auth"\) through the proxy http:\/\/…@127\.0\.0\.1:\d+ \(HTTPS_PROXY\) \(GET .*: CONNECT apiserver\.cni-ownership\.test:\d+ answered 407 Proxy Authentication Required\)\. The proxy asks for credentials: give them in its URL/m);
      const { json } = await cliJson(['inspect', '--addon', 'vpc-cni', '--kubeconfig', file], env);
      expect(json).toMatchObject({ exitCode: EXIT.ERROR, requests: {}, error: { kind: 'ClusterUnreachable' } });
      for (const text of [out.stderr, JSON.stringify(json)]) expect(text).not.toMatch(/S3cret|alice/);
    } finally {
      await guarded.close();
    }
  });

  test('no CA in the kubeconfig: the system\'s CAs, which lack the test CA (exit 1); with NODE_EXTRA_CA_CERTS naming it, a CLI process succeeds', () => {
    const file = kubeconfig('system-cas', { token: files.token }, { 'certificate-authority-data': undefined });
    expect(fs.readFileSync(file, 'utf8')).not.toContain('certificate-authority');
    const without = runMain(['inspect', '--addon', 'vpc-cni', '--kubeconfig', file]);
    expect(without.status).toBe(EXIT.ERROR);
    expect(without.stderr).toMatch(/^Error: Cannot trust the API server .*: its certificate is not signed by any of the system's CAs \(GET .*: unable to verify the first certificate\)\. The kubeconfig names no CA for it: give cluster "c" .*Or add that CA to the system's for this command: NODE_EXTRA_CA_CERTS=ca\.pem\./m);
    const withTestCa = runMain(['inspect', '--addon', 'vpc-cni', '--kubeconfig', file, '-o', 'json'], { NODE_EXTRA_CA_CERTS: files.caFile });
    expect(withTestCa.stderr).toBe('');
    expect([withTestCa.status, JSON.parse(withTestCa.stdout).owner.kind]).toEqual([EXIT.OK, 'ABSENT']);
  });
});

describe('commands', () => {
  const K = ['--kubeconfig', files.kubeconfig];

  test('inspect (table): the owner, one row per object with its field managers, the managed add-on caveat; writes nothing', async () => {
    fixtures.newEksCluster();
    const before = await snapshot(admin);
    const out = await cli(['inspect', '--addon', 'vpc-cni', ...K]);
    expect(out.code).toBe(EXIT.OK);
    expect(out.stdout).toMatch(/^Context local \(https:\/\/127\.0\.0\.1:\d+\)\n/);
    expect(out.stdout).toContain('Owner: EKS_BOOTSTRAP: the EKS bootstrap install');
    expect(out.stdout).toMatch(/^DaemonSet\/kube-system\/aws-node\s+EKS_BOOTSTRAP\s+eks\/Apply$/m);
    expect(out.stdout).toMatch(/^CustomResourceDefinition\/eniconfigs.crd.k8s.amazonaws.com\s+EKS_BOOTSTRAP\s+eks\/Apply, kube-apiserver\/Update\(status\) \(0 custom resources\)$/m);
    expect(out.stdout).toContain('only the EKS API knows');
    expect(out.stdout).toMatch(/^Installed VPC CNI: 1\.20\.4\nImage registry: 602401143452\.dkr\.ecr\.eu-west-3\.amazonaws\.com$/m);
    // The 7 objects, the recovery copy (absent) and the two CRDs' custom resources.
    expect(out.stdout).toMatch(/^10 API requests \(GET 10\)$/m);
    expect(out.stderr).toBe('');
    const { json } = await cliJson(['inspect', '--addon', 'vpc-cni', ...K]);
    expect(json).toMatchObject({ installedVersion: '1.20.4', imageRegistry: `${EKS_REGION.account}.dkr.ecr.${EKS_REGION.region}.amazonaws.com` });
    expect(await snapshot(admin)).toEqual(before);
  });

  test('inspect without --addon: the three preinstalled add-ons, one line each (owner, version), then each one\'s details; JSON and YAML too', async () => {
    fixtures.newEksCluster();
    const out = await cli(['inspect', ...K]);
    expect(out.code).toBe(EXIT.OK);
    const [vpcCni, kubeProxy, coredns] = out.stdout.split('\n');
    expect(vpcCni).toMatch(/^vpc-cni\s+EKS_BOOTSTRAP\s+1\.20\.4\s+the EKS bootstrap install/);
    expect(kubeProxy).toMatch(/^kube-proxy\s+ABSENT\s+-\s+absent$/);
    expect(coredns).toMatch(/^coredns\s+ABSENT\s+-\s+absent$/);
    expect(out.stdout).toContain('== kube-proxy ==');
    expect(out.stdout).toMatch(/^DaemonSet\/kube-system\/kube-proxy\s+ABSENT/m);
    const { json } = await cliJson(['inspect', ...K]);
    expect(json.addons.map((a: any) => [a.addon, a.owner.kind])).toEqual([['vpc-cni', 'EKS_BOOTSTRAP'], ['kube-proxy', 'ABSENT'], ['coredns', 'ABSENT']]);
    const yaml = await cli(['inspect', ...K, '-o', 'yaml']);
    expect(yaml.code).toBe(EXIT.OK);
    expect(yaml.stdout).toMatch(/^addons:\n {2}- addon: vpc-cni$/m);
  });

  test('remove --addon kube-proxy on a user\'s Helm release of kube-proxy: exit 3, nothing changed, the override named', async () => {
    const chart = path.resolve(__dirname, '..', 'fixtures', 'chart', 'kube-proxy');
    kube.helm(['install', 'kube-proxy', chart, '--namespace', 'kube-system']);
    try {
      const before = kube.kubectl(['get', 'daemonset/kube-proxy', '-n', 'kube-system', '-o', 'jsonpath={.metadata.resourceVersion}']);
      const out = await cli(['remove', '--addon', 'kube-proxy', ...K]);
      expect(out.code).toBe(EXIT.REFUSED);
      expect(out.stderr).toMatch(/Refusing to remove kube-proxy: it is owned by Helm release "kube-proxy"/);
      expect(out.stderr).toContain('--if-owned-by-others TAKE_OVER');
      expect(kube.kubectl(['get', 'daemonset/kube-proxy', '-n', 'kube-system', '-o', 'jsonpath={.metadata.resourceVersion}'])).toBe(before);
    } finally {
      kube.helm(['uninstall', 'kube-proxy', '--namespace', 'kube-system']);
    }
  });

  test('remove --addon kube-proxy, then restore --addon kube-proxy: the same objects back; restore again writes nothing', async () => {
    const chart = path.resolve(__dirname, '..', 'fixtures', 'chart', 'kube-proxy');
    kube.kubectl(['apply', '--server-side', '--field-manager', 'eks', '-f', '-'],
      kube.helm(['template', 'kube-proxy', chart, '--namespace', 'kube-system']));
    const spec = () => kube.kubectl(['get', 'daemonset/kube-proxy', 'configmap/kube-proxy-config', '-n', 'kube-system', '-o', 'jsonpath={.items[0].spec.template}{.items[1].data}']);
    const before = spec();
    const removed = await cliJson(['remove', '--addon', 'kube-proxy', ...K]);
    expect(removed.code).toBe(EXIT.OK);
    expect(removed.json.changed).toHaveLength(5);
    const restored = await cli(['restore', '--addon', 'kube-proxy', ...K]);
    expect(restored.code).toBe(EXIT.OK);
    expect(restored.stdout).toContain('re-create it from the recovery copy');
    expect(spec()).toBe(before);
    expect((await cliJson(['restore', '--addon', 'kube-proxy', ...K])).json.plan.writes).toEqual([]);
    kube.kubectl(['delete', '-n', 'kube-system', 'daemonset/kube-proxy', 'configmap/kube-proxy', 'configmap/kube-proxy-config',
      'serviceaccount/kube-proxy', 'configmap/cdk-vpc-cni-ownership-recovery-kube-proxy']);
    kube.kubectl(['delete', 'clusterrolebinding/eks:kube-proxy']);
  });

  test('plan adopt (JSON): seven writes with reasons, nothing written; adopt --dry-run says the same', async () => {
    fixtures.newEksCluster();
    const before = await snapshot(admin);
    const { code, json } = await cliJson(['plan', 'adopt', ...K]);
    expect(code).toBe(EXIT.OK);
    expect(json).toMatchObject({
      command: 'adopt', dryRun: true, exitCode: 0, managedAddon: null, managedAddonSource: 'unknown', owner: { kind: 'EKS_BOOTSTRAP' }, changed: [],
    });
    expect(json.plan.writes).toHaveLength(7);
    // Checked: each write was sent with dryRun=All, and the API server accepted it.
    expect(json.plan.writes[0]).toEqual({
      verb: 'PATCH',
      object: DS,
      reason: expect.stringMatching(/^adopt into Helm release kube-system\/aws-vpc-cni: annotate .*; hand 1 managedFields entry of "eks" to "helm"$/),
      preflight: { accepted: true },
    });
    expect(json.plan.writes.map((w: any) => w.preflight)).toEqual(Array(7).fill({ accepted: true }));
    expect(json.requests).toEqual({ 'GET': 7, 'PATCH(dryRun)': 7 });
    expect(json.objects.map((o: any) => o.present)).toEqual(Array(7).fill(true));
    expect(json.notes[0]).toMatch(/only the EKS API knows/);
    expect((await cliJson(['adopt', '--dry-run', ...K])).json.plan).toEqual(json.plan);
    const table = await cli(['plan', 'adopt', ...K]);
    expect(table.stdout).toMatch(/^Owner: EKS_BOOTSTRAP: the EKS bootstrap install .*\n\nPlan for ADOPT:\n1\. PATCH DaemonSet\/kube-system\/aws-node: adopt into.*\n {3}accepted by the API server\n2\. /m);
    expect(table.stdout.match(/^ {3}accepted by the API server$/gm)).toHaveLength(7);
    expect(table.stdout).not.toContain('FIELD MANAGERS');
    expect(table.stdout).toContain('Dry run: nothing was written.');
    expect(await snapshot(admin)).toEqual(before);
  });

  test('adopt with the client certificate: the real helm install then succeeds; adopt again has nothing to do', async () => {
    fixtures.newEksCluster();
    expect(kube.failing('helm', INSTALL)).toMatch(/invalid ownership metadata/);
    const out = await cli(['adopt', ...K, '--context', 'local-cert', '--release-name', RELEASE, '--release-namespace', 'kube-system', '--field-manager', 'helm']);
    expect(out.code).toBe(EXIT.OK);
    expect(out.stdout).toMatch(/^Changed 7 objects: DaemonSet\/kube-system\/aws-node, /m);
    // A read, a preflight (dryRun=All) and a write per object.
    expect(out.stdout).toMatch(/^21 API requests \(GET 7, PATCH\(dryRun\) 7, PATCH 7\)$/m);
    kube.helm(INSTALL);

    const again = await cliJson(['adopt', ...K]);
    expect(again.code).toBe(EXIT.OK);
    expect(again.json).toMatchObject({ owner: { kind: 'HELM_RELEASE', releaseName: RELEASE }, plan: { writes: [] }, changed: [] });
    expect((await cli(['adopt', ...K])).stdout).toContain('Nothing to do: the cluster is already there.');
  });

  test('remove --crd-policy KEEP: the five objects go, the CRDs stay; the table lists them', async () => {
    fixtures.newEksCluster();
    const out = await cli(['remove', ...K, '--crd-policy', 'KEEP']);
    expect(out.code).toBe(EXIT.OK);
    expect(out.stdout).toMatch(/^Changed 5 objects: /m);
    expect(out.stdout).toMatch(/^Note: CustomResourceDefinition\/eniconfigs.crd.k8s.amazonaws.com: kept \(crdPolicy KEEP\)$/m);
    expect(await getLive(admin, DS)).toBeUndefined();
    expect(await getLive(admin, 'CustomResourceDefinition/eniconfigs.crd.k8s.amazonaws.com')).toBeDefined();
  });

  test('disable, then restore: the DaemonSet spec is exactly what it was', async () => {
    fixtures.newEksCluster();
    const before = await getLive(admin, DS);
    expect((await cli(['disable', ...K])).code).toBe(EXIT.OK);
    expect((await getLive(admin, DS))!.spec.template.spec.nodeSelector).toEqual({ 'cdk-vpc-cni-ownership/disabled': 'true' });
    const { code, json } = await cliJson(['restore', ...K]);
    expect(code).toBe(EXIT.OK);
    expect(json.changed).toEqual([DS]);
    expect((await getLive(admin, DS))!.spec).toEqual(before!.spec);
  });

  test('nothing installed: every action exits 0 and writes nothing', async () => {
    for (const command of ['inspect', 'adopt', 'remove', 'disable', 'restore']) {
      const { code, json } = await cliJson([command, '--addon', 'vpc-cni', ...K]);
      expect([command, code, json.owner.kind, json.changed, json.installedVersion, json.imageRegistry]).toEqual([command, EXIT.OK, 'ABSENT', [], null, null]);
    }
  });

  describe('the ownership guard', () => {
    test('a user\'s Helm release: exit 3 and nothing changed; SKIP exits 0 and says why; TAKE_OVER removes it', async () => {
      fixtures.userHelmRelease('users-cni');
      const before = await snapshot(admin);

      const refused = await cli(['remove', ...K]);
      expect(refused.code).toBe(EXIT.REFUSED);
      expect(refused.stderr).toMatch(/^Refused: Refusing to remove the VPC CNI: it is owned by Helm release "users-cni" in namespace "kube-system" \(as its annotations say; .*\)\. Nothing was changed\./);
      expect(refused.stderr).toMatch(/\nWith this CLI: --if-owned-by-others TAKE_OVER or SKIP\.\n$/);
      expect(refused.stdout).toBe('');
      const refusedJson = await cliJson(['remove', ...K]);
      expect(refusedJson.code).toBe(EXIT.REFUSED);
      expect(refusedJson.json).toMatchObject({ exitCode: 3, error: { kind: 'OwnedByOthers', owner: { kind: 'HELM_ANNOTATED', releaseName: 'users-cni' } } });
      expect(refusedJson.json.requests.GET).toBeGreaterThan(0);

      const skipped = await cliJson(['remove', ...K, '--if-owned-by-others', 'SKIP']);
      expect(skipped.code).toBe(EXIT.OK);
      expect(skipped.json.plan.skipped).toMatch(/owned by Helm release "users-cni"/);
      expect((await cli(['remove', ...K, '--if-owned-by-others', 'SKIP'])).stdout).toMatch(/^Skipped: left as it is/m);
      expect(await snapshot(admin)).toEqual(before);

      const taken = await cliJson(['remove', ...K, '--if-owned-by-others', 'TAKE_OVER']);
      expect(taken.code).toBe(EXIT.OK);
      expect(taken.json.changed).toContain(DS);
      expect(await getLive(admin, DS)).toBeUndefined();
    });

    test('--managed-addon: the guard refuses (3); TAKE_OVER is refused too, since only the EKS API can release the add-on; inspect and plan still work', async () => {
      fixtures.newEksCluster();
      const before = await snapshot(admin);
      const inspect = await cliJson(['inspect', '--addon', 'vpc-cni', ...K, '--managed-addon']);
      expect(inspect.json).toMatchObject({ managedAddon: true, owner: { kind: 'EKS_MANAGED_ADDON' }, notes: [] });

      const refused = await cli(['adopt', ...K, '--managed-addon']);
      expect(refused.code).toBe(EXIT.REFUSED);
      expect(refused.stderr).toMatch(/owned by the EKS managed add-on "vpc-cni"/);

      const takeOver = await cliJson(['disable', ...K, '--managed-addon', '--if-owned-by-others', 'TAKE_OVER']);
      expect(takeOver.code).toBe(EXIT.REFUSED);
      expect(takeOver.json.error).toMatchObject({ kind: 'ManagedAddonRefusal', message: expect.stringContaining('aws eks delete-addon') });

      const planned = await cliJson(['plan', 'disable', ...K, '--managed-addon', '--if-owned-by-others', 'TAKE_OVER']);
      expect(planned.code).toBe(EXIT.OK);
      expect(planned.json.plan.writes).toHaveLength(1);
      expect(await snapshot(admin)).toEqual(before);
    });
  });

  test('writes the RBAC refuses: refused in the preflight, exit 1, each refusal listed, nothing changed', async () => {
    fixtures.newEksCluster();
    // A user who may read every object but patch only the DaemonSet.
    await asLimitedUser('cni-cli-limited', [{ apiGroups: ['apps'], resources: ['daemonsets'], resourceNames: ['aws-node'], verbs: ['patch'] }], async (file) => {
      const { code, json } = await cliJson(['adopt', '--kubeconfig', file]);
      expect(code).toBe(EXIT.ERROR);
      expect(json.error).toMatchObject({ kind: 'PreflightRefused' });
      expect(json.error.refusals).toHaveLength(6);
      expect(json.error.refusals[0]).toMatchObject({ objectId: 'ServiceAccount/kube-system/aws-node', verb: 'PATCH', accepted: false });
      expect(json.error.message).toMatch(/refused 6 of 7 planned writes in a dry run; nothing was changed:\n- PATCH ServiceAccount\/kube-system\/aws-node: 403 Forbidden.*Grant the handler "patch" on ServiceAccount/s);
      // The preflight only: seven dry runs, no real write.
      expect(json.requests).toEqual({ 'GET': 7, 'PATCH(dryRun)': 7 });
      expect((await getLive(admin, DS))!.metadata.annotations ?? {}).not.toHaveProperty(['meta.helm.sh/release-name']);
    });
  });

  test('objects that are not what EKS installs: exit 4 and nothing changed; inspect shows the problem and exits 0', async () => {
    fixtures.newEksCluster('--set', 'originalMatchLabels=false');
    const before = await snapshot(admin);
    const out = await cli(['adopt', ...K, '--if-owned-by-others', 'TAKE_OVER']);
    expect(out.code).toBe(EXIT.UNEXPECTED_STATE);
    expect(out.stderr).toMatch(/^Unexpected cluster state: The VPC CNI objects are not what this library expects; nothing was changed:\n- DaemonSet\/kube-system\/aws-node: spec.selector/);
    const json = await cliJson(['remove', ...K]);
    expect(json.code).toBe(EXIT.UNEXPECTED_STATE);
    expect(json.json.error.problems).toEqual([expect.stringMatching(/^DaemonSet\/kube-system\/aws-node: spec.selector is /)]);
    const inspect = await cli(['inspect', '--addon', 'vpc-cni', ...K]);
    expect(inspect.code).toBe(EXIT.OK);
    expect(inspect.stdout).toMatch(/^PROBLEM: DaemonSet\/kube-system\/aws-node: spec.selector/m);
    expect(await snapshot(admin)).toEqual(before);
  });
});

describe('values: the chart values that reproduce the running install', () => {
  const K = ['--kubeconfig', files.kubeconfig];
  const REGISTRY = `${EKS_REGION.account}.dkr.ecr.${EKS_REGION.region}.${EKS_REGION.domain}`;

  test('YAML: a commented header (chart version, registry, how to install, each note) and values that parse; reads only', async () => {
    fixtures.newEksCluster();
    fixtures.userSetEnv('MY_SETTING', 'on');
    const before = await snapshot(admin);
    const out = await cli(['values', ...K]);
    expect([out.code, out.stderr]).toEqual([EXIT.OK, '']);
    const header = out.stdout.split('\n').filter((l) => l.startsWith('#'));
    expect(header.slice(0, 4)).toEqual([
      '# aws-vpc-cni chart values that reproduce the running VPC CNI (cdk-vpc-cni-ownership values)',
      '# aws-vpc-cni chart version: 1.20.4',
      `# image registry: ${REGISTRY}`,
      '# after cdk-vpc-cni-ownership adopt: helm install aws-vpc-cni eks/aws-vpc-cni --version 1.20.4 -n kube-system -f values.yaml',
    ]);
    // The kubectl set env customisation stays its own, and says so.
    expect(out.stdout).toMatch(/^# Note: aws-node: env MY_SETTING was added by an imperative edit: kept as a customisation, not in the values/m);
    const values = parseYaml(out.stdout);
    expect(values).toMatchObject({
      originalMatchLabels: true,
      image: { account: EKS_REGION.account, region: EKS_REGION.region, domain: EKS_REGION.domain, tag: EKS_REGION.awsNodeTag },
      init: { image: { region: EKS_REGION.region, tag: EKS_REGION.awsNodeTag } },
      nodeAgent: { image: { region: EKS_REGION.region, tag: EKS_REGION.agentTag } },
    });
    expect(values.env).not.toHaveProperty('MY_SETTING');
    expect(await snapshot(admin)).toEqual(before);
  });

  test('the plain-Helm takeover of the help text: adopt, values, helm install -f: the DaemonSet and its pods are unchanged, the customisation kept', async () => {
    fixtures.newEksCluster();
    fixtures.userSetEnv('MY_SETTING', 'on');
    const before = (await getLive(admin, DS))!;
    expect((await cli(['adopt', ...K])).code).toBe(EXIT.OK);
    const out = await cli(['values', ...K]);
    expect(out.code).toBe(EXIT.OK);
    const file = path.join(dir, 'values.yaml');
    fs.writeFileSync(file, out.stdout);
    kube.helm(['install', RELEASE, CHART, '--namespace', 'kube-system', '-f', file]);
    const after = (await getLive(admin, DS))!;
    expect(after.metadata.annotations).toMatchObject({ 'meta.helm.sh/release-name': RELEASE });
    expect(after.metadata.generation).toBe(before.metadata.generation);
    expect(after.spec.template).toEqual(before.spec.template);
    expect(awsNodeEnv(after)).toContain('MY_SETTING');
  });

  test('-o json: { version, imageRegistry, values, notes, changes }, the same values as the YAML', async () => {
    fixtures.newEksCluster();
    fixtures.userSetEnv('MY_SETTING', 'on');
    const { code, json } = await cliJson(['values', ...K]);
    expect(code).toBe(EXIT.OK);
    expect(Object.keys(json)).toEqual(['version', 'imageRegistry', 'values', 'notes', 'changes']);
    expect(json).toMatchObject({ version: '1.20.4', imageRegistry: REGISTRY });
    expect(json.notes).toContainEqual(expect.stringMatching(/^aws-node: env MY_SETTING was added by an imperative edit/));
    expect(json.values).toEqual(parseYaml((await cli(['values', ...K])).stdout));
  });

  test('--chart-version: another version leaves the image tags and VPC_CNI_VERSION to that chart, and says so; the installed one keeps them', async () => {
    fixtures.newEksCluster();
    const installed = await cliJson(['values', ...K]);
    expect(installed.json.values.image.tag).toBe(EKS_REGION.awsNodeTag);
    const same = await cliJson(['values', ...K, '--chart-version', '1.20.4']);
    expect(same.json).toEqual(installed.json);

    const other = await cliJson(['values', ...K, '--chart-version', '1.21.1']);
    expect(other.code).toBe(EXIT.OK);
    expect(other.json.version).toBe('1.21.1');
    for (const image of [other.json.values.image, other.json.values.init.image, other.json.values.nodeAgent.image]) {
      expect(image).not.toHaveProperty('tag');
      expect(image.region).toBe(EKS_REGION.region);
    }
    expect(other.json.values.env ?? {}).not.toHaveProperty('VPC_CNI_VERSION');
    expect(other.json.changes).toContainEqual(expect.stringMatching(/^chart 1\.21\.1 is not the installed version \(1\.20\.4\): the image tags and VPC_CNI_VERSION are left to that chart/));
    const yaml = await cli(['values', ...K, '--chart-version', '1.21.1']);
    expect(yaml.stdout).toMatch(/^# aws-vpc-cni chart version: 1\.21\.1\n/m);
    expect(yaml.stdout).toContain('--version 1.21.1 -n kube-system');
  });

  test('--release-name other than the pods\' instance label: a note that the first install would restart them', async () => {
    fixtures.newEksCluster();
    const { json } = await cliJson(['values', ...K, '--release-name', 'vpc-cni']);
    expect(json.changes).toContainEqual(expect.stringMatching(/app\.kubernetes\.io\/instance=aws-vpc-cni, and the chart labels them with the release name "vpc-cni"/));
    expect((await cli(['values', ...K, '--release-name', 'vpc-cni'])).stdout).toContain('helm install vpc-cni eks/aws-vpc-cni');
  });

  test('no aws-node DaemonSet: exit 4 with the reason (JSON: the error); inspect shows none installed', async () => {
    fixtures.autoModeCrdsOnly();
    const out = await cli(['values', ...K]);
    expect(out.code).toBe(EXIT.UNEXPECTED_STATE);
    expect(out.stdout).toBe('');
    expect(out.stderr).toMatch(/^Unexpected cluster state: There is no aws-node DaemonSet in kube-system, so no running VPC CNI whose chart values could be derived/);
    const json = await cliJson(['values', ...K]);
    expect(json.code).toBe(EXIT.UNEXPECTED_STATE);
    expect(json.json).toEqual({ error: { kind: 'NoRunningVpcCni', message: expect.stringContaining('no aws-node DaemonSet') } });
    expect((await cli(['inspect', '--addon', 'vpc-cni', ...K])).stdout).toMatch(/^Installed VPC CNI: none \(no aws-node DaemonSet\)$/m);
  });
});

describe('adopt --hand-over, remove --delete-policy-endpoint-crd', () => {
  const K = ['--kubeconfig', files.kubeconfig];

  test('--hand-over kubectl-set: the customisation\'s fields go to helm too (and into the values); without it they stay kubectl-set\'s', async () => {
    fixtures.newEksCluster();
    fixtures.userSetEnv('MY_SETTING', 'on');
    const without = await cliJson(['plan', 'adopt', ...K]);
    expect(without.json.plan.writes[0].reason).toMatch(/hand 1 managedFields entry of "eks" to "helm"$/);
    expect(without.json.plan.notes).toContainEqual(expect.stringMatching(/^DaemonSet\/kube-system\/aws-node: customisations of "kubectl-set" kept: .*\(name them in --hand-over to give them to "helm"\)$/));

    const { code, json } = await cliJson(['adopt', ...K, '--hand-over', 'kubectl-set', '--hand-over', 'kubectl-edit']);
    expect(code).toBe(EXIT.OK);
    expect(json.action).toEqual({ type: 'ADOPT', releaseName: RELEASE, releaseNamespace: 'kube-system', fieldManager: 'helm', handOver: ['kubectl-set', 'kubectl-edit'], readReleaseRecords: true });
    expect(json.plan.writes[0].reason).toMatch(/hand 2 managedFields entries of "eks" and "kubectl-set" to "helm"$/);
    const managers = (await getLive(admin, DS))!.metadata.managedFields!.map((m) => m.manager);
    expect(managers).toContain('helm');
    expect(managers).not.toContain('kubectl-set');
    // Now the install's: the values carry it.
    expect((await cliJson(['values', ...K])).json.values.env).toMatchObject({ MY_SETTING: 'on' });
  });

  test('remove --crd-policy DELETE keeps the PolicyEndpoint CRD, with the reason; --delete-policy-endpoint-crd deletes it', async () => {
    fixtures.newEksCluster();
    const planned = await cliJson(['plan', 'remove', ...K, '--crd-policy', 'DELETE']);
    expect(planned.json.plan.writes.map((w: any) => w.object)).not.toContain(POLICY_ENDPOINT_CRD);
    expect(planned.json.plan.notes).toContainEqual(expect.stringMatching(
      /^CustomResourceDefinition\/policyendpoints\.networking\.k8s\.aws: kept: the EKS control plane's network policy controller uses it.*\(--delete-policy-endpoint-crd\) to apply crdPolicy to it$/,
    ));

    const { code, json } = await cliJson(['remove', ...K, '--crd-policy', 'DELETE', '--delete-policy-endpoint-crd']);
    expect(code).toBe(EXIT.OK);
    expect(json.action).toEqual({ type: 'REMOVE', crdPolicy: 'DELETE', deletePolicyEndpointCrd: true });
    expect(json.changed).toContain(POLICY_ENDPOINT_CRD);
    const crd = await getLive(admin, POLICY_ENDPOINT_CRD);
    expect(crd === undefined || !!crd.metadata.deletionTimestamp).toBe(true);
  });
});

describe('checked plans: the API server\'s answer for each write', () => {
  // Everything adopt writes but the ConfigMap (escalate and bind: adopt's patches of the aws-node role and binding carry its rules).
  const ALL_BUT_THE_CONFIG_MAP = [
    { apiGroups: ['apps'], resources: ['daemonsets'], verbs: ['patch'] },
    { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['patch'] },
    { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles', 'clusterrolebindings'], verbs: ['patch'] },
    { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['escalate', 'bind'] },
    { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: ['patch'] },
  ];

  test('plan adopt with an identity that may not patch the ConfigMap: exit 1, that refusal listed with the reason, the others accepted; nothing changed', async () => {
    fixtures.newEksCluster();
    const before = await snapshot(admin);
    await asLimitedUser('cni-cli-no-configmap', ALL_BUT_THE_CONFIG_MAP, async (file) => {
      const table = await cli(['plan', 'adopt', '--kubeconfig', file]);
      expect(table.code).toBe(EXIT.ERROR);
      expect(table.stdout).toMatch(/^\d\. PATCH ConfigMap\/kube-system\/amazon-vpc-cni: adopt into .*\n {3}REFUSED by the API server: 403 Forbidden: .*configmaps "amazon-vpc-cni" is forbidden.*Grant the handler "patch" on ConfigMap\/kube-system\/amazon-vpc-cni/m);
      expect(table.stdout.match(/^ {3}accepted by the API server$/gm)).toHaveLength(6);
      expect(table.stdout).toMatch(/^Dry run: nothing was written\. The API server would refuse 1 of 7 writes, so "adopt" would stop before its first write\.$/m);
      expect(table.stderr).toBe('Error: The API server would refuse 1 of 7 planned writes (PATCH ConfigMap/kube-system/amazon-vpc-cni); the plan says why. Nothing was written.\n');

      const { code, json } = await cliJson(['adopt', '--dry-run', '--kubeconfig', file]);
      expect(code).toBe(EXIT.ERROR);
      expect(json.exitCode).toBe(EXIT.ERROR);
      const byObject = Object.fromEntries(json.plan.writes.map((w: any) => [w.object, w.preflight]));
      expect(byObject[CONFIG_MAP]).toEqual({ accepted: false, refusal: expect.stringMatching(/^403 Forbidden: .*Grant the handler "patch" on ConfigMap/) });
      expect(Object.values(byObject).filter((p: any) => p.accepted)).toHaveLength(6);
      expect(json.error).toMatchObject({ kind: 'DryRunRefused', refusals: [{ objectId: CONFIG_MAP, verb: 'PATCH', accepted: false }] });
      expect(json.requests).toEqual({ 'GET': 7, 'PATCH(dryRun)': 7 });

      // The real run stops in its preflight: the table lists the refusal, each on its own lines.
      const real = await cli(['adopt', '--kubeconfig', file]);
      expect(real.code).toBe(EXIT.ERROR);
      expect(real.stdout).toBe('');
      expect(real.stderr).toMatch(/^Error: The API server refused 1 of 7 planned writes in the preflight \(each sent first with dryRun=All\); nothing was changed\.\nRefused:\n {2}PATCH ConfigMap\/kube-system\/amazon-vpc-cni\n {4}403 Forbidden: .*\nThe writes are made as the user of context "cni-cli-no-configmap": grant it/);
    });
    expect(await snapshot(admin)).toEqual(before);
  });

  test('a dry run the API server accepts whole exits 0; one without writes sends nothing', async () => {
    fixtures.newEksCluster();
    const removal = await cliJson(['plan', 'remove', '--kubeconfig', files.kubeconfig, '--crd-policy', 'KEEP']);
    expect(removal.code).toBe(EXIT.OK);
    // The recovery copy first, then the five deletes.
    expect(removal.json.plan.writes.map((w: any) => [w.verb, w.preflight.accepted])).toEqual([['APPLY', true], ...Array(5).fill(['DELETE', true])]);
    expect(removal.json.requests['DELETE(dryRun)']).toBe(5);
    const restore = await cliJson(['plan', 'restore', '--kubeconfig', files.kubeconfig]);
    // The seven objects and the recovery copy (absent).
    expect([restore.code, restore.json.plan.writes, restore.json.requests]).toEqual([EXIT.OK, [], { GET: 8 }]);
  });
});

describe('managed add-on: asked of the EKS API when the kubeconfig uses aws eks get-token', () => {
  const CLUSTER = 'prod-cluster';
  let bin: string;
  let log: string;
  beforeEach(() => {
    fixtures.newEksCluster();
    bin = fs.mkdtempSync(path.join(dir, 'bin-'));
    fs.symlinkSync(FAKE_AWS, path.join(bin, 'aws'));
    log = path.join(bin, 'calls.jsonl');
  });

  /** A kubeconfig as `aws eks update-kubeconfig` writes it, with the profile in the exec env; `addon` is what the fake EKS API answers. */
  function eksKubeconfig(addon: 'found' | 'not-found' | 'no-cluster' | 'denied', args = ['--region', EKS_REGION.region, 'eks', 'get-token', '--cluster-name', CLUSTER, '--output', 'json']) {
    const tokenFile = path.join(bin, 'token');
    fs.writeFileSync(tokenFile, files.token);
    return kubeconfig(`eks-${addon}`, {
      exec: {
        apiVersion: 'client.authentication.k8s.io/v1beta1',
        command: 'aws',
        args,
        env: [
          { name: 'AWS_PROFILE', value: 'platform-admin' },
          { name: 'FAKE_AWS_ADDON', value: addon },
          { name: 'TOKEN_FILE', value: tokenFile },
          { name: 'FAKE_AWS_LOG', value: log },
        ],
      },
    });
  }
  const withFakeAws = () => ({ PATH: `${bin}${path.delimiter}${process.env.PATH}` });
  const calls = (): { args: string[]; env: Record<string, string>; execInfo: boolean }[] =>
    fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));

  test('found: managedAddon true from the EKS API, asked as the exec plugin (same aws, cluster, region, env); remove refuses (3), TAKE_OVER too', async () => {
    const file = eksKubeconfig('found');
    const before = await snapshot(admin);
    const inspect = await cliJson(['inspect', '--addon', 'vpc-cni', '--kubeconfig', file], withFakeAws());
    expect(inspect.code).toBe(EXIT.OK);
    expect(inspect.json).toMatchObject({ managedAddon: true, managedAddonSource: 'eks-api', owner: { kind: 'EKS_MANAGED_ADDON' } });
    expect(inspect.json.notes).toEqual([`The EKS API (aws eks describe-addon) says vpc-cni is a managed add-on of cluster "${CLUSTER}".`]);
    const [getToken, describe] = calls();
    expect(getToken.args).toEqual(['--region', EKS_REGION.region, 'eks', 'get-token', '--cluster-name', CLUSTER, '--output', 'json']);
    expect(describe).toEqual({
      args: ['eks', 'describe-addon', '--cluster-name', CLUSTER, '--addon-name', 'vpc-cni', '--region', EKS_REGION.region, '--output', 'json'],
      env: { AWS_PROFILE: 'platform-admin', FAKE_AWS_ADDON: 'found' },
      execInfo: false,
    });

    const refused = await cli(['remove', '--kubeconfig', file], withFakeAws());
    expect(refused.code).toBe(EXIT.REFUSED);
    expect(refused.stderr).toMatch(/^Refused: Refusing to remove the VPC CNI: it is owned by the EKS managed add-on "vpc-cni"/);
    expect(refused.stderr).toContain(`delete the add-on first, keeping its objects (aws eks delete-addon --cluster-name ${CLUSTER} --addon-name vpc-cni --preserve)`);

    const takeOver = await cliJson(['remove', '--kubeconfig', file, '--if-owned-by-others', 'TAKE_OVER'], withFakeAws());
    expect(takeOver.code).toBe(EXIT.REFUSED);
    expect(takeOver.json.error).toEqual({
      kind: 'ManagedAddonRefusal',
      message: 'Refusing to remove the VPC CNI: it is an EKS managed add-on (the EKS API says so), and EKS would keep writing it. Nothing was changed. '
        + `Delete the add-on first, keeping its objects: aws eks delete-addon --cluster-name ${CLUSTER} --addon-name vpc-cni --preserve; then run this again.`,
    });
    expect(await snapshot(admin)).toEqual(before);
  });

  test('not found (ResourceNotFoundException): managedAddon false, the bootstrap install; adopt goes ahead', async () => {
    const { code, json } = await cliJson(['adopt', '--kubeconfig', eksKubeconfig('not-found')], withFakeAws());
    expect(code).toBe(EXIT.OK);
    expect(json).toMatchObject({ managedAddon: false, managedAddonSource: 'eks-api', owner: { kind: 'EKS_BOOTSTRAP' } });
    expect(json.notes).toEqual([`The EKS API (aws eks describe-addon) has no vpc-cni add-on of cluster "${CLUSTER}": this is the bootstrap install.`]);
    expect(json.changed).toHaveLength(7);
  });

  test.each([
    ['AccessDenied', 'denied' as const, /failed: An error occurred \(AccessDeniedException\) when calling the DescribeAddon operation: User: arn:aws:iam::111122223333:user\/dev is not authorized/],
    ['no such cluster in that region', 'no-cluster' as const, /failed: An error occurred \(ResourceNotFoundException\) when calling the DescribeAddon operation: No cluster found for name: prod-cluster\./],
  ])('%s: it cannot tell; one line says so and why, the --managed-addon note stays', async (_name, addon, reason) => {
    const file = eksKubeconfig(addon);
    const table = await cli(['inspect', '--addon', 'vpc-cni', '--kubeconfig', file], withFakeAws());
    expect(table.code).toBe(EXIT.OK);
    const line = table.stdout.split('\n').find((l) => l.startsWith('The EKS API could not tell'))!;
    expect(line).toMatch(new RegExp(`^The EKS API could not tell whether vpc-cni is a managed add-on: aws eks describe-addon for cluster "${CLUSTER}" in ${EKS_REGION.region} `));
    expect(line).toMatch(reason);
    expect(table.stdout).toContain('only the EKS API knows');
    const { json } = await cliJson(['plan', 'remove', '--kubeconfig', file], withFakeAws());
    expect(json).toMatchObject({ managedAddon: null, managedAddonSource: 'unknown', owner: { kind: 'EKS_BOOTSTRAP' } });
    expect(json.notes).toEqual([expect.stringMatching(reason), expect.stringMatching(/only the EKS API knows/)]);
  });

  test('--managed-addon: the EKS API is not asked; --cluster-name=, --profile and no --region are passed on as given', async () => {
    const flagged = await cliJson(['inspect', '--addon', 'vpc-cni', '--kubeconfig', eksKubeconfig('not-found'), '--managed-addon'], withFakeAws());
    expect(flagged.json).toMatchObject({ managedAddon: true, managedAddonSource: 'flag', owner: { kind: 'EKS_MANAGED_ADDON' } });
    expect(calls().map((c) => c.args[c.args.indexOf('eks') + 1])).toEqual(['get-token']);

    fs.rmSync(log);
    const file = eksKubeconfig('found', ['--profile', 'other', 'eks', 'get-token', `--cluster-name=${CLUSTER}`]);
    expect((await cliJson(['inspect', '--addon', 'vpc-cni', '--kubeconfig', file], withFakeAws())).json.managedAddonSource).toBe('eks-api');
    expect(calls()[1].args).toEqual(['--profile', 'other', 'eks', 'describe-addon', '--cluster-name', CLUSTER, '--addon-name', 'vpc-cni', '--output', 'json']);
  });
});

describe('as a process', () => {
  // The bin (lib/cli/main.js, compiled from src/cli/main.ts) must be runnable by `npx cdk-vpc-cni-ownership`.
  test('package.json maps the command to lib/cli/main.js, whose source starts with a node shebang', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.bin).toEqual({ 'cdk-vpc-cni-ownership': 'lib/cli/main.js' });
    expect(pkg.bundledDependencies).toContain('yaml');
    expect(fs.readFileSync(path.join(ROOT, 'src', 'cli', 'main.ts'), 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
  });

  test('main.ts sets the exit code and writes stdout and stderr', () => {
    const main = (args: string[]) => runMain(args, { KUBECONFIG: files.kubeconfig });
    const inspect = main(['inspect', '--addon', 'vpc-cni', '-o', 'json']);
    expect([inspect.status, JSON.parse(inspect.stdout).exitCode]).toEqual([EXIT.OK, EXIT.OK]);
    const usage = main(['inspect', '--addon', 'vpc-cni', '--nope']);
    expect([usage.status, usage.stderr.split('\n')[0]]).toEqual([EXIT.USAGE, 'Unknown option --nope']);
  });
});

describe('bad networks: which server, what happened, what to do; no request counted that never reached it', () => {
  test('nothing listening, all three add-ons: the reason once, JSON with no requests (none reached a server)', async () => {
    const file = kubeconfig('closed-all', { token: files.token }, { server: await closedPort() });
    const out = await cli(['inspect', '--kubeconfig', file]);
    expect(out.code).toBe(EXIT.ERROR);
    expect(out.stdout).toBe('');
    // One "Error:" line, however many add-ons, and one progress line per retry (not one per request).
    expect(out.stderr.match(/^Error: /gm)).toHaveLength(1);
    expect(out.stderr.match(/trying again in .* \(attempt 2 of 4\)$/gm)).toHaveLength(1);
    expect(out.stderr).toMatch(/^Error: Cannot connect to the API server https:\/\/127\.0\.0\.1:\d+ \(context "closed-all"\): nothing accepts connections/m);
    const { json } = await cliJson(['inspect', '--kubeconfig', file]);
    expect(json.addons.map((a: any) => [a.addon, a.requests, a.error.kind])).toEqual([
      ['vpc-cni', {}, 'ClusterUnreachable'], ['kube-proxy', {}, 'ClusterUnreachable'], ['coredns', {}, 'ClusterUnreachable'],
    ]);
  });

  test('a server whose certificate is not trusted: no request counted', async () => {
    const file = kubeconfig('untrusted-json', { token: files.token }, { 'certificate-authority-data': b64(otherCa()) });
    const { code, json } = await cliJson(['adopt', '--kubeconfig', file]);
    expect(code).toBe(EXIT.ERROR);
    expect(json).toMatchObject({ requests: {}, error: { kind: 'ServerNotTrusted', message: expect.stringMatching(/^Cannot trust the API server/) } });
  });

  test('a server that accepts and never answers: a progress line after 3 s, one attempt (no retry of a server that never answered), advice', async () => {
    const silent = await blackHole();
    try {
      const file = kubeconfig('silent', { token: files.token }, { server: silent.endpoint });
      const out = await cli(['inspect', '--addon', 'vpc-cni', '--kubeconfig', file]);
      expect(out.code).toBe(EXIT.ERROR);
      const lines = out.stderr.trim().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(new RegExp(`^${silent.endpoint}: waiting for an answer to GET /\\S+ \\(none after 3 s; each attempt gives up after 10 s\\)$`));
      expect(lines[1]).toMatch(new RegExp(`^Error: No answer from the API server ${silent.endpoint} \\(context "silent"\\) \\(GET \\S+: no answer within 10000 ms\\)\\. `
        + 'Nothing answers at that address, or the network drops the packets: check the server address of cluster "c" in \\S+, and that this machine may reach it'));
    } finally {
      await silent.close();
    }
  });

  test('a server that answers, then fails a request: a line for the retry, and the command succeeds', async () => {
    fixtures.newEksCluster();
    const proxy = await FaultProxy.start(process.env.CNI_TEST_CONTROLPLANE!);
    try {
      proxy.addRule({ method: 'GET', path: /daemonsets\/aws-node$/, times: 1, fault: { kind: 'status', status: 503 } });
      const file = kubeconfig('flaky', { token: files.token }, { server: proxy.endpoint });
      const { code, json, stderr } = await cliJson(['inspect', '--addon', 'vpc-cni', '--kubeconfig', file]);
      expect(code).toBe(EXIT.OK);
      expect(stderr).toBe(`${proxy.endpoint}: GET /apis/apps/v1/namespaces/kube-system/daemonsets/aws-node: 503 Injected503: injected by the fault proxy; `
        + 'trying again in 0.25 s (attempt 2 of 4)\n');
      // Every request that reached the server counts, the retry too.
      expect(json.requests).toEqual({ GET: proxy.requests.length });
    } finally {
      await proxy.close();
    }
  });

  test('an identity that may not read what the command needs: exit 1, the refusal, and the rules the action needs', async () => {
    fixtures.newEksCluster();
    const { cert, key } = clientCertificate('cni-cli-nobody');
    const file = kubeconfig('nobody', { 'client-certificate': cert, 'client-key': key });
    const out = await cli(['plan', 'remove', '--kubeconfig', file]);
    expect(out.code).toBe(EXIT.ERROR);
    expect(out.stderr).toMatch(/^Error: The identity of context "nobody" may not do what plan remove --addon vpc-cni needs \(GET \S+: 403 Forbidden: .* User "cni-cli-nobody" cannot get resource .*\)\. These rules are enough, the construct's handler RBAC for the same action \(rbacManifest\(\)\):\n/);
    expect(out.stderr).toMatch(/^ {2}cluster-wide: get, delete clusterroles \(rbac\.authorization\.k8s\.io\) aws-node; .*list eniconfigs \(crd\.k8s\.amazonaws\.com\)/m);
    expect(out.stderr).toMatch(/^ {2}in namespace kube-system: get, patch, delete daemonsets \(apps\) aws-node; .*get, patch, create configmaps cdk-vpc-cni-ownership-recovery-vpc-cni$/m);
    expect(out.stderr).toMatch(/\nGrant them, or use an identity that has them \(e\.g\. cluster-admin\)\.\n$/);
    const { json } = await cliJson(['plan', 'remove', '--kubeconfig', file]);
    expect(json.error.kind).toBe('PermissionDenied');
  });
});

describe('values --strict: fails where the install would change what runs', () => {
  const K = ['--kubeconfig', files.kubeconfig];

  test('the ConfigMap\'s enable-network-policy-controller and the node agent\'s --enable-network-policy disagree: exit 5, the note on stderr, the values printed', async () => {
    fixtures.newEksCluster();
    kube.kubectl(['patch', 'configmap/amazon-vpc-cni', '-n', 'kube-system', '--type', 'merge', '-p', '{"data":{"enable-network-policy-controller":"true"}}']);
    const lenient = await cli(['values', ...K]);
    expect(lenient.code).toBe(EXIT.OK);
    expect(lenient.stdout).toMatch(/^# Changes: ConfigMap amazon-vpc-cni: enable-network-policy-controller is "true" but the node agent runs with false/m);

    const strict = await cli(['values', '--strict', ...K]);
    expect(strict.code).toBe(EXIT.WOULD_CHANGE);
    expect(strict.stdout).toBe(lenient.stdout);
    expect(strict.stderr).toBe('Would change what runs: installing the chart with these values would change what runs:\n'
      + '- ConfigMap amazon-vpc-cni: enable-network-policy-controller is "true" but the node agent runs with false; the chart renders both from '
      + 'enableNetworkPolicy: the first install sets the key to "false"\n');
    const { code, json } = await cliJson(['values', '--strict', ...K]);
    expect(code).toBe(EXIT.WOULD_CHANGE);
    expect(json.changes).toEqual([expect.stringMatching(/^ConfigMap amazon-vpc-cni: enable-network-policy-controller is "true"/)]);
    // Where the user acts: adopt's plan says it too.
    const planned = await cliJson(['plan', 'adopt', ...K]);
    expect(planned.json.plan.notes).toContainEqual(expect.stringMatching(
      /^installing the aws-vpc-cni chart [0-9.]+ with the values that reproduce what runs still changes it: ConfigMap amazon-vpc-cni: enable-network-policy-controller is "true"/));
  });

  test('a customisation is no change (kept as it is): exit 0; another chart version is one: exit 5', async () => {
    fixtures.newEksCluster();
    fixtures.userSetEnv('MY_SETTING', 'on');
    const strict = await cliJson(['values', '--strict', ...K]);
    expect([strict.code, strict.stderr]).toEqual([EXIT.OK, '']);
    expect(strict.json.notes).toContainEqual(expect.stringMatching(/env MY_SETTING was added by an imperative edit/));
    expect(strict.json.changes).toEqual([]);
    const upgrade = await cli(['values', '--strict', '--chart-version', '1.21.1', ...K]);
    expect(upgrade.code).toBe(EXIT.WOULD_CHANGE);
    expect(upgrade.stderr).toMatch(/^- chart 1\.21\.1 is not the installed version \(1\.20\.4\)/m);
  });
});

/** src/cli/main.ts as a process of its own, to signal: its output so far, and how it ended. */
function startMain(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(ROOT, 'src', 'cli', 'main.ts'), ...args], {
    env: { PATH: process.env.PATH, HOME: home, TS_NODE_PROJECT: path.join(ROOT, 'tsconfig.json'), ...env },
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => (out.stdout += d));
  child.stderr.on('data', (d) => (out.stderr += d));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, ...out }));
  });
  return { child, out, ended };
}

async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('Ctrl-C and SIGTERM: no new write, those in flight finish, what was done and what was not, exit 130', () => {
  let proxy: FaultProxy;
  let file: string;
  beforeEach(async () => {
    proxy = await FaultProxy.start(process.env.CNI_TEST_CONTROLPLANE!);
    file = kubeconfig('through-faults', { token: files.token }, { server: proxy.endpoint });
  });
  afterEach(async () => proxy.close());
  const realWrites = () => proxy.requests.filter((r) => r.method !== 'GET' && !/dryRun/.test(r.query));

  test('SIGINT during remove\'s ServiceAccount delete: it finishes, nothing more is deleted, exit 130 listing both; a rerun finishes the removal', async () => {
    fixtures.newEksCluster();
    proxy.addRule({ method: 'DELETE', path: /serviceaccounts\/aws-node$/, times: 1, fault: { kind: 'delay', ms: 2000 } });
    const main = startMain(['remove', '--kubeconfig', file]);
    await until(() => realWrites().some((r) => r.method === 'DELETE' && /serviceaccounts\/aws-node$/.test(r.path)), 'the ServiceAccount delete');
    main.child.kill('SIGINT');
    const ended = await main.ended;
    expect([ended.code, ended.signal]).toEqual([EXIT.INTERRUPTED, null]);
    expect(ended.stdout).toBe('');
    expect(ended.stderr).toBe('SIGINT: starting no new write; waiting for the ones in flight to finish (a second signal stops at once, leaving their outcome unknown)\n'
      + 'Interrupted: SIGINT received: no write was started after it, and those in flight finished.\n'
      + `Done: ConfigMap/kube-system/cdk-vpc-cni-ownership-recovery-vpc-cni, ${DS}, ServiceAccount/kube-system/aws-node. `
      + `Not done: ClusterRole/aws-node, ClusterRoleBinding/aws-node, ${CONFIG_MAP}, CustomResourceDefinition/eniconfigs.crd.k8s.amazonaws.com. `
      + 'Running again continues from here.\n');
    // The ServiceAccount's delete was the last write: none after the signal.
    expect(realWrites().map((r) => `${r.method} ${r.path.split('/').slice(-2).join('/')}`)).toEqual([
      'PATCH configmaps/cdk-vpc-cni-ownership-recovery-vpc-cni', 'DELETE daemonsets/aws-node', 'DELETE serviceaccounts/aws-node',
    ]);
    expect(await getLive(admin, 'ServiceAccount/kube-system/aws-node')).toBeUndefined();
    expect(await getLive(admin, 'ClusterRole/aws-node')).toBeDefined();

    // Issue 20, 1(c): the rerun finishes what the interrupted run left, rather than "Changed nothing".
    const rerun = await cli(['remove', '--kubeconfig', files.kubeconfig]);
    expect(rerun.code).toBe(EXIT.OK);
    expect(rerun.stdout).toMatch(/^Changed 4 objects: ClusterRole\/aws-node, ClusterRoleBinding\/aws-node, ConfigMap\/kube-system\/amazon-vpc-cni, CustomResourceDefinition\/eniconfigs/m);
    for (const id of ['ClusterRole/aws-node', 'ClusterRoleBinding/aws-node', CONFIG_MAP]) expect(await getLive(admin, id)).toBeUndefined();
    const third = await cliJson(['remove', '--kubeconfig', files.kubeconfig]);
    expect([third.code, third.json.error, third.json.plan?.writes]).toEqual([EXIT.OK, undefined, []]);
  });

  test('SIGTERM while reading, before any write: stops at once, nothing changed, exit 130 (JSON: the error)', async () => {
    fixtures.newEksCluster();
    const before = await snapshot(admin);
    proxy.addRule({ method: 'GET', path: /daemonsets\/aws-node$/, times: 1, fault: { kind: 'hang' } });
    const main = startMain(['remove', '--kubeconfig', file, '-o', 'json']);
    await until(() => proxy.requests.some((r) => /daemonsets\/aws-node$/.test(r.path)), 'the DaemonSet read');
    main.child.kill('SIGTERM');
    const ended = await main.ended;
    expect(ended.code).toBe(EXIT.INTERRUPTED);
    const json = JSON.parse(ended.stdout);
    expect(json).toMatchObject({ exitCode: EXIT.INTERRUPTED, error: { kind: 'Interrupted', signal: 'SIGTERM', done: [], message: 'SIGTERM received before any write: nothing was changed.' } });
    expect(realWrites()).toEqual([]);
    expect(await snapshot(admin)).toEqual(before);
  });

  test('SIGINT while adopt\'s writes are all in flight: they finish, everything is done, and it says so; exit 130', async () => {
    fixtures.newEksCluster();
    proxy.addRule({ method: 'PATCH', path: /daemonsets\/aws-node\?fieldManager=helm$/, times: 1, fault: { kind: 'delay', ms: 1500 } });
    const main = startMain(['adopt', '--kubeconfig', file, '-o', 'json']);
    await until(() => realWrites().length === 7, 'the seven patches');
    main.child.kill('SIGINT');
    const ended = await main.ended;
    expect(ended.code).toBe(EXIT.INTERRUPTED);
    const json = JSON.parse(ended.stdout);
    expect(json).toMatchObject({ exitCode: EXIT.INTERRUPTED, interrupted: 'SIGINT' });
    expect(json.changed).toHaveLength(7);
    expect(json).not.toHaveProperty('error');
    expect((await cliJson(['adopt', '--kubeconfig', files.kubeconfig])).json.plan.writes).toEqual([]);
  });

  test('a second SIGINT stops at once, saying the writes in flight may or may not have been applied', async () => {
    fixtures.newEksCluster();
    proxy.addRule({ method: 'DELETE', path: /daemonsets\/aws-node$/, times: 1, fault: { kind: 'delay', ms: 20_000 } });
    const main = startMain(['remove', '--kubeconfig', file]);
    await until(() => realWrites().some((r) => r.method === 'DELETE' && /daemonsets\/aws-node$/.test(r.path)), 'the DaemonSet delete');
    main.child.kill('SIGINT');
    await until(() => main.out.stderr.includes('waiting for the ones in flight'), 'the first signal\'s line');
    main.child.kill('SIGINT');
    const ended = await main.ended;
    expect(ended.code).toBe(EXIT.INTERRUPTED);
    expect(ended.stderr).toMatch(/\nSIGINT again: stopping at once\. The writes in flight may or may not have been applied: run inspect to see where the cluster stands, and the same command again to finish\.\n$/);
    expect(realWrites().map((r) => r.method)).toEqual(['PATCH', 'DELETE']);
  });
});
