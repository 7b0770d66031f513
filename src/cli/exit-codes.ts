/** Exit codes scripts can rely on (also in the help texts and the README). */
export const EXIT = {
  /** Done, or nothing to do (including a SKIP by the guard). */
  OK: 0,
  /** Kubeconfig, credentials, the cluster, or a write failed; or a dry run found writes the API server would refuse. */
  ERROR: 1,
  /** The command line is wrong. */
  USAGE: 2,
  /** The ownership guard refused: someone else owns the VPC CNI. Nothing was written. */
  REFUSED: 3,
  /** The objects are not what the library knows. Nothing was written. */
  UNEXPECTED_STATE: 4,
  /** `values --strict`: installing the chart with the values would change what runs (the values are printed all the same). */
  WOULD_CHANGE: 5,
  /** SIGINT or SIGTERM: no write was started after it; what was done and what was not is listed. 128 + 2, as shells report Ctrl-C. */
  INTERRUPTED: 130,
} as const;

export type ExitCode = typeof EXIT[keyof typeof EXIT];

/** Said of exit code 0 by the commands the ownership guard applies to. */
export const SKIP_NOTE = ' (also when --if-owned-by-others SKIP left it as it is)';

/** Said of exit code 1 by the commands that plan: a checked plan the API server would refuse in part. */
export const DRY_RUN_REFUSED_NOTE = ';\n     or a dry run (plan) found writes the API server would refuse (each is listed)';

/** What each exit code means, for the help texts. */
export const EXIT_MEANINGS: Record<ExitCode, string> = {
  [EXIT.OK]: 'done, or nothing to do',
  [EXIT.ERROR]: 'error: kubeconfig, credentials, the cluster or a write failed (what was done is listed)',
  [EXIT.USAGE]: 'usage: unknown command or option, invalid value, or a context the kubeconfig does not have',
  [EXIT.REFUSED]: 'refused by the ownership guard: someone else owns it; nothing was changed',
  [EXIT.UNEXPECTED_STATE]: 'unexpected cluster state: the objects are not what EKS installs; nothing was changed',
  [EXIT.WOULD_CHANGE]: '--strict: installing the chart with these values would change what runs (the notes say what);\n     the values are printed all the same',
  [EXIT.INTERRUPTED]: 'interrupted (Ctrl-C, SIGTERM): no write was started after the signal, those in flight\n       finished; what was done and what was not is listed. Running again continues',
};
