#!/usr/bin/env bash
# A stand-in for the AWS CLI, installed as `aws` on PATH, for the two calls the CLI makes through it:
#   aws [--region R] eks get-token --cluster-name NAME ...
#       an ExecCredential (the apiVersion KUBERNETES_EXEC_INFO asks for) with the token in $TOKEN_FILE
#   aws [--profile P] eks describe-addon --cluster-name NAME --addon-name vpc-cni [--region R] --output json
#       answers as $FAKE_AWS_ADDON says, with the AWS CLI's exit status and message:
#       found, not-found (ResourceNotFoundException), no-cluster (ResourceNotFoundException for the cluster),
#       denied (AccessDeniedException)
# Each call is appended to $FAKE_AWS_LOG as a JSON line: its arguments and the AWS_* environment it saw.
set -euo pipefail
exec node -e '
const fs = require("fs");
const args = process.argv.slice(1);
const aws = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith("AWS_") || k.startsWith("FAKE_AWS_ADDON")));
fs.appendFileSync(process.env.FAKE_AWS_LOG, `${JSON.stringify({ args, env: aws, execInfo: !!process.env.KUBERNETES_EXEC_INFO })}\n`);
const value = (name) => { const i = args.indexOf(name); return i < 0 ? undefined : args[i + 1]; };
const eks = args.indexOf("eks");
const operation = eks < 0 ? undefined : args[eks + 1];
const serviceError = (code, message) => {
  process.stderr.write(`\nAn error occurred (${code}) when calling the DescribeAddon operation: ${message}\n`);
  process.exit(254);
};
if (operation === "get-token") {
  const info = process.env.KUBERNETES_EXEC_INFO ? JSON.parse(process.env.KUBERNETES_EXEC_INFO) : {};
  const token = fs.readFileSync(process.env.TOKEN_FILE, "utf8").trim();
  process.stdout.write(JSON.stringify({
    kind: "ExecCredential", apiVersion: info.apiVersion || "client.authentication.k8s.io/v1beta1", spec: {}, status: { token },
  }));
} else if (operation === "describe-addon") {
  const cluster = value("--cluster-name");
  switch (process.env.FAKE_AWS_ADDON) {
    case "found":
      process.stdout.write(JSON.stringify({
        addon: { addonName: value("--addon-name"), clusterName: cluster, status: "ACTIVE", addonVersion: "v1.20.4-eksbuild.1" },
      }, null, 4));
      break;
    case "not-found":
      serviceError("ResourceNotFoundException", `No addon: ${value("--addon-name")} found in cluster: ${cluster}`);
    case "no-cluster":
      serviceError("ResourceNotFoundException", `No cluster found for name: ${cluster}.`);
    default:
      serviceError("AccessDeniedException", `User: arn:aws:iam::111122223333:user/dev is not authorized to perform: eks:DescribeAddon on resource: arn:aws:eks:eu-west-3:111122223333:cluster/${cluster}`);
  }
} else {
  process.stderr.write(`fake aws: unexpected arguments ${JSON.stringify(args)}\n`);
  process.exit(252);
}
' -- "$@"
