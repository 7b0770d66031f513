/**
 * The handler's identity with exactly the access the construct synthesizes for one action on one
 * add-on (PreinstalledAddonOwnership.rbacManifestFor: RBAC and admission policies), on the real API
 * server: a client certificate for the user and group the access entry maps the handler role to.
 */
import { Cli, waitUntil } from './cluster';
import { certificateIdentity } from './identity';
import { CniAction, PreinstalledAddon, PreinstalledAddonOwnership } from '../../src';
import { addonNamed } from '../../src/addons';
import { KUBERNETES_GROUP, KUBERNETES_USERNAME } from '../../src/contract';
import { KubeApiError, KubeClient, objectPath } from '../../src/engine';

const ALL_ACTIONS = () => [CniAction.inspect(), CniAction.disable(), CniAction.remove(), CniAction.restore(), CniAction.adoptIntoHelm()];
const docs = (manifest: readonly unknown[]) => manifest.map((m) => JSON.stringify(m)).join('\n---\n');

export class HandlerAccess {
  /** The engine's client as the handler's identity (one attempt per request: a refusal is final). */
  readonly handler: KubeClient;

  constructor(private readonly cli: Cli, private readonly addon: PreinstalledAddon) {
    const identity = certificateIdentity(KUBERNETES_USERNAME, [KUBERNETES_GROUP]);
    this.handler = new KubeClient(identity.connection, { maxAttempts: 1 });
  }

  private manifestOf(action: CniAction): any[] {
    return PreinstalledAddonOwnership.rbacManifestFor(this.addon, action);
  }

  /** Deletes what any action's manifest applies. */
  remove(): void {
    this.cli.kubectl(['delete', '--ignore-not-found', '-f', '-'], docs(ALL_ACTIONS().flatMap((a) => this.manifestOf(a))));
  }

  /** Applies the action's manifest alone, and waits until its admission policy answers (its messages name the action). */
  async apply(action: CniAction): Promise<void> {
    this.remove();
    this.cli.kubectl(['apply', '-f', '-'], docs(this.manifestOf(action)));
    const name = this.manifestOf(action).find((m) => m.kind === 'ClusterRole').metadata.name.replace(/^cdk-vpc-cni-ownership-/, '');
    const workload = addonNamed(this.addon)!.workload;
    const labels = { ...workload.selector };
    // A dry-run apply of the workload with another image: an update where it runs, a creation where it was removed.
    const probe = {
      apiVersion: workload.apiVersion,
      kind: workload.kind,
      metadata: { name: workload.name, namespace: workload.namespace },
      spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'probe', image: 'probe.example/probe:1' }] } } },
    };
    await waitUntil('the admission policy in force', async () => {
      const error = await this.handler.request('PATCH', objectPath(workload), {
        body: probe, contentType: 'application/apply-patch+yaml', query: { fieldManager: 'access-test', force: 'true', dryRun: 'All' },
      }).then(() => undefined, (e) => e);
      return error instanceof KubeApiError && error.message.includes(`cdk-vpc-cni-ownership (${name}):`);
    });
  }

  close(): void {
    this.remove();
    this.handler.close();
  }
}

/** The request must be refused (403); returns the error. */
export async function refusal(request: Promise<unknown>): Promise<KubeApiError> {
  const error = await request.then(() => undefined, (e) => e);
  if (!(error instanceof KubeApiError)) throw new Error(`expected a refusal, got ${error === undefined ? 'success' : error}`);
  if (error.status !== 403) throw new Error(`expected 403, got ${error.status}: ${error.message}`);
  return error;
}
