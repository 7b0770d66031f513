import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { KubeConnection } from '../../src/engine';

/** A Kubernetes user of the local control plane, authenticated by a client certificate its CA signed. */
export interface CertificateIdentity {
  /** For the engine's KubeClient. */
  readonly connection: KubeConnection;
  /** For kubectl (`--kubeconfig`). */
  readonly kubeconfig: string;
  /** The PEM files, for kubeconfigs of a test's own. */
  readonly certFile: string;
  readonly keyFile: string;
}

/**
 * Signs a client certificate for `username` in `groups` (the certificate's CN and O, which is how the
 * API server reads an x509 identity) with the control plane's CA. The API server then sees exactly
 * this user and groups, as it sees the handler mapped by an access entry.
 */
export function certificateIdentity(username: string, groups: readonly string[], state = process.env.CNI_TEST_CONTROLPLANE): CertificateIdentity {
  if (!state) throw new Error('CNI_TEST_CONTROLPLANE is not set: run the tests through jest (test/controlplane/global-setup.ts)');
  const files = JSON.parse(fs.readFileSync(path.join(state, 'connection.json'), 'utf8'));
  const pki = path.dirname(files.caFile);
  // In the state directory: controlplane.sh stop removes the key with the rest of the control plane's.
  const dir = fs.mkdtempSync(path.join(state, 'identity-'));
  const subject = ['', ...groups.map((g) => `O=${g}`), `CN=${username}`].join('/');
  const file = (name: string) => path.join(dir, name);
  fs.writeFileSync(file('ext'), 'extendedKeyUsage=clientAuth\n');
  execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', subject, '-keyout', file('key.pem'), '-out', file('csr.pem')], { stdio: 'pipe' });
  execFileSync('openssl', ['x509', '-req', '-in', file('csr.pem'), '-CA', files.caFile, '-CAkey', path.join(pki, 'ca.key'),
    '-CAserial', file('ca.srl'), '-CAcreateserial', '-days', '1', '-extfile', file('ext'), '-out', file('cert.pem')], { stdio: 'pipe' });
  const kubeconfig = file('kubeconfig');
  fs.writeFileSync(kubeconfig, [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: local\n  cluster:\n    server: ${files.endpoint}\n    certificate-authority: ${files.caFile}`,
    'users:',
    `- name: identity\n  user:\n    client-certificate: ${file('cert.pem')}\n    client-key: ${file('key.pem')}`,
    'contexts:',
    '- name: identity\n  context: {cluster: local, user: identity}',
    'current-context: identity',
    '',
  ].join('\n'));
  return {
    connection: {
      endpoint: files.endpoint,
      caData: fs.readFileSync(files.caFile, 'utf8'),
      clientCertData: fs.readFileSync(file('cert.pem'), 'utf8'),
      clientKeyData: fs.readFileSync(file('key.pem'), 'utf8'),
    },
    kubeconfig,
    certFile: file('cert.pem'),
    keyFile: file('key.pem'),
  };
}

/**
 * The PEM of a CA that did not sign the control plane's certificate (made once per jest worker, in the
 * control plane's state directory, so that stop removes its key): verifying against it must fail.
 */
export function unrelatedCa(state = process.env.CNI_TEST_CONTROLPLANE): { readonly pem: string; readonly file: string } {
  if (!state) throw new Error('CNI_TEST_CONTROLPLANE is not set: run the tests through jest (test/controlplane/global-setup.ts)');
  const dir = path.join(state, `unrelated-ca-${process.pid}`);
  const file = path.join(dir, 'ca.crt');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dir, { recursive: true });
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=not-the-cluster-ca',
      '-keyout', path.join(dir, 'ca.key'), '-out', file], { stdio: 'pipe' });
  }
  return { pem: fs.readFileSync(file, 'utf8'), file };
}
