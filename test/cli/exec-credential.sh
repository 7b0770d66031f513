#!/usr/bin/env bash
# A stand-in for `aws eks get-token`: an exec credential plugin that prints an ExecCredential.
#   exec-credential.sh token              status.token, read from the file $TOKEN_FILE
#   exec-credential.sh certificate        status.clientCertificateData/clientKeyData, from $CERT_FILE and $KEY_FILE
# Like kubectl, the caller must describe the request in KUBERNETES_EXEC_INFO; the answer uses its apiVersion.
# With REQUIRE_CLUSTER_INFO=1 it also checks that the cluster was passed (provideClusterInfo).
set -euo pipefail
if [[ -z "${KUBERNETES_EXEC_INFO:-}" ]]; then
  echo "exec-credential: KUBERNETES_EXEC_INFO is not set" >&2
  exit 1
fi
exec node -e '
const fs = require("fs");
const info = JSON.parse(process.env.KUBERNETES_EXEC_INFO);
if (info.kind !== "ExecCredential" || info.spec.interactive !== false) throw new Error("unexpected KUBERNETES_EXEC_INFO");
if (process.env.REQUIRE_CLUSTER_INFO === "1" && !(info.spec.cluster && info.spec.cluster.server)) {
  process.stderr.write("exec-credential: no cluster info\n");
  process.exit(1);
}
const read = (file) => {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    process.stderr.write(`exec-credential: ${e.message}\n`);
    process.exit(1);
  }
};
const status = process.argv[1] === "certificate"
  ? { clientCertificateData: read(process.env.CERT_FILE), clientKeyData: read(process.env.KEY_FILE) }
  : { token: read(process.env.TOKEN_FILE).trim() };
process.stdout.write(JSON.stringify({ apiVersion: info.apiVersion, kind: "ExecCredential", status }));
' "${1:?usage: exec-credential.sh token|certificate}"
