/**
 * Charts from their Helm repositories (or a directory of archives), for the release-time checks
 * (presets:check, takeover:check): a repository that cannot be reached is `Unreachable`, a skip;
 * one that answers wrongly is a failure.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/** A chart in a repository; no version: the newest. */
export interface ChartRef {
  readonly repository: string;
  readonly chart: string;
  readonly version?: string;
}

export class Unreachable extends Error {}

/** Helm's words when there is no network path to a repository (DNS, TCP, TLS, proxy, timeout). */
const NETWORK_ERROR = /no such host|dial tcp|i\/o timeout|connection refused|network is unreachable|TLS handshake timeout|proxyconnect|Client\.Timeout|ETIMEDOUT|ENOTFOUND/;

export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

export class Charts {
  private readonly env: NodeJS.ProcessEnv;
  private readonly repos = new Map<string, string>();
  private readonly unreachable = new Map<string, string>();
  public readonly newer = new Set<string>();

  constructor(private readonly helm: string, private readonly work: string, private readonly chartsDir?: string,
    private readonly mirrors: Map<string, string> = new Map()) {
    // Helm's own config, cache and data in the work directory: the user's repositories are left alone.
    this.env = { ...process.env, HELM_CONFIG_HOME: path.join(work, 'helm-config'), HELM_CACHE_HOME: path.join(work, 'helm-cache'), HELM_DATA_HOME: path.join(work, 'helm-data') };
  }

  /** The chart archive: from --charts-dir, or pulled (a repository that cannot be reached throws Unreachable). */
  public fetch(release: ChartRef): { tgz: string; version: string } {
    if (this.chartsDir) {
      const candidates = fs.readdirSync(this.chartsDir).filter((f) => f.startsWith(`${release.chart}-`) && f.endsWith('.tgz')).sort();
      const file = release.version ? `${release.chart}-${release.version}.tgz` : candidates[candidates.length - 1];
      if (!file || !fs.existsSync(path.join(this.chartsDir, file))) throw new Error(`${release.chart} ${release.version ?? '(any)'} is not in ${this.chartsDir}`);
      return { tgz: path.join(this.chartsDir, file), version: release.version ?? file.slice(release.chart.length + 1, -4) };
    }
    const alias = this.repoAlias(release.repository);
    const search = run(this.helm, ['search', 'repo', `${alias}/${release.chart}`, '--versions', '--devel', '-o', 'json'], this.env);
    const versions: string[] = search.ok ? JSON.parse(search.out).filter((e: any) => e.name === `${alias}/${release.chart}`).map((e: any) => e.version) : [];
    const version = release.version ?? versions[0];
    if (!version || !versions.includes(version)) throw new Error(`${release.chart} version ${release.version} is not in ${release.repository} (newest: ${versions.slice(0, 3).join(', ')})`);
    const newestPatch = versions.find((v) => sameMinor(v, version) && !/-/.test(v));
    if (newestPatch && newestPatch !== version) this.newer.add(`${release.chart}: ${newestPatch} is out (the preset has ${version})`);
    const dest = path.join(this.work, 'pulled');
    fs.mkdirSync(dest, { recursive: true });
    const pull = run(this.helm, ['pull', `${alias}/${release.chart}`, '--version', version, '--destination', dest], this.env);
    if (!pull.ok) throw new Error(`helm pull ${release.chart} ${version}: ${pull.out.trim()}`);
    return { tgz: path.join(dest, `${release.chart}-${version}.tgz`), version };
  }

  /** Every version of a chart: the archives in --charts-dir, or the repository's index (newest first). */
  public versions(ref: ChartRef): string[] {
    if (this.chartsDir) {
      return fs.readdirSync(this.chartsDir).filter((f) => f.startsWith(`${ref.chart}-`) && f.endsWith('.tgz'))
        .map((f) => f.slice(ref.chart.length + 1, -4)).reverse();
    }
    const alias = this.repoAlias(ref.repository);
    const search = run(this.helm, ['search', 'repo', `${alias}/${ref.chart}`, '--versions', '-o', 'json'], this.env);
    if (!search.ok) throw new Error(`helm search repo ${ref.chart}: ${search.out.trim()}`);
    return JSON.parse(search.out).filter((e: any) => e.name === `${alias}/${ref.chart}`).map((e: any) => e.version);
  }

  private repoAlias(repository: string): string {
    const existing = this.repos.get(repository);
    if (existing) return existing;
    const known = this.unreachable.get(repository);
    if (known) throw new Unreachable(known);
    const alias = `repo${this.repos.size}`;
    const add = run(this.helm, ['repo', 'add', alias, this.mirrors.get(repository) ?? repository], this.env, 60_000);
    if (!add.ok) {
      const message = `${repository}: ${add.out.trim().split('\n').pop()}`;
      // No network path is a skip; a repository that answers wrongly (404, not an index) is a failure.
      if (!NETWORK_ERROR.test(add.out)) throw new Error(`helm repo add ${message}`);
      this.unreachable.set(repository, message);
      throw new Unreachable(message);
    }
    this.repos.set(repository, alias);
    return alias;
  }
}

function sameMinor(a: string, b: string): boolean {
  const minor = (v: string) => v.replace(/^v/, '').split('.').slice(0, 2).join('.');
  return minor(a) === minor(b);
}

