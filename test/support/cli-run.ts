/** The CLI in this process, as a user runs it: its exit code and what it wrote, with a clean environment. */
import { runCli } from '../../src/cli/cli';

export interface Outcome { code: number; stdout: string; stderr: string }

/** Runs the CLI with `args`; `env` beyond PATH and HOME (a HOME without ~/.kube/config, so nothing on the machine leaks in). */
export async function runCliCaptured(args: string[], home: string, env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env: { PATH: process.env.PATH, HOME: home, ...env },
  });
  return { code, stdout, stderr };
}
