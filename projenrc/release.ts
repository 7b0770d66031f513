import { github } from 'projen';

/**
 * The Node.js versions the published package runs on: the library (lib/), its CLI (lib/cli/main.js) and their
 * dependencies, in every language (the bindings run the library in Node.js). aws-cdk-lib, a peer dependency, asks for
 * 20.0.0, and the minimatch it bundles leaves out Node.js 21 (an odd-numbered line, past its end of life); the library
 * and the CLI were run on 20.0.0 itself (docs/releasing.md). Written to package.json `engines`.
 */
export const USER_NODE_VERSION = '20.0.0';
export const USER_NODE_VERSIONS = `^${USER_NODE_VERSION} || >=22.0.0`;

/**
 * The Node.js versions the development toolchain runs on: those that every package in package-lock.json accepts
 * (the narrowest is typescript-eslint's eslint-visitor-keys; jest leaves out Node.js 23). Written to package.json
 * `devEngines`: npm 11 fails `npm ci` outside it (EBADDEVENGINES); npm versions without devEngines ignore it.
 */
export const CONTRIBUTOR_NODE_VERSIONS = '^20.19.0 || ^22.13.0 || >=24';

/** Node.js in the GitHub workflows: an LTS line inside both ranges that is not past its end of life (20 ended in April 2026). */
export const WORKFLOW_NODE_VERSION = '22.x';

/** Where test/controlplane/controlplane.sh caches the kube-apiserver and etcd it builds. */
const CONTROL_PLANE_CACHE = '~/.cache/cdk-vpc-cni-ownership/controlplane';

/**
 * Steps before the build in the build and release workflows: Go for the local control plane, whose build (a few
 * minutes) is cached under what controlplane.sh's own key covers: the module's files, the script and the Go version.
 */
export function buildWorkflowSetupSteps(): github.workflows.JobStep[] {
  return [
    {
      name: 'Set up Go (builds the test control plane)',
      id: 'setup-go',
      uses: 'actions/setup-go@v7.0.0',
      with: { 'go-version-file': 'test/controlplane/go.mod', 'cache': false },
    },
    {
      name: 'Cache the control plane build',
      uses: 'actions/cache@v4',
      with: {
        path: CONTROL_PLANE_CACHE,
        key: "controlplane-${{ runner.os }}-go${{ steps.setup-go.outputs.go-version }}-${{ hashFiles('test/controlplane/go.mod', "
          + "'test/controlplane/go.sum', 'test/controlplane/cmd/**', 'test/controlplane/controlplane.sh') }}",
      },
    },
  ];
}
