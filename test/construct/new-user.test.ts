/**
 * What a new user meets at synthesis with the clusters aws-cdk-lib makes by default: EKS Auto Mode
 * (no preinstalled add-ons), a default node group that runs before the VPC CNI is removed, an
 * imported cluster without the attributes a preset needs, and no deprecation warning the user
 * cannot fix (issue 21).
 */
import { KubectlV33Layer } from '@aws-cdk/lambda-layer-kubectl-v33';
import { App, Stack, aws_ec2 as ec2, aws_eks_v2 as eksv2 } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import {
  ClusterNetwork, ClusterNetworkSetup, ClusterTarget, CniAction, PreinstalledAddon, PreinstalledAddonOwnership, VpcCniOwnership,
} from '../../src';
import { NODES_BEFORE_REMOVAL_WARNING } from '../../src/vpc-cni-ownership';

const ENV = { account: '111111111111', region: 'eu-west-1' };
const newStack = () => new Stack(new App(), 'Stack', { env: ENV });
const kubectl = (stack: Stack) => ({ kubectlProviderOptions: { kubectlLayer: new KubectlV33Layer(stack, 'Kubectl') } });

describe('EKS Auto Mode and clusters without preinstalled add-ons fail at synthesis, naming the property', () => {
  test.each([
    ['adopt', CniAction.adoptIntoHelm()], ['remove', CniAction.remove()], ['disable', CniAction.disable()], ['restore', CniAction.restore()],
  ])('aws-eks-v2 Cluster by default (Auto Mode): %s is an error naming defaultCapacityType', (_name, action) => {
    const stack = newStack();
    const cluster = new eksv2.Cluster(stack, 'Cluster', { version: eksv2.KubernetesVersion.V1_33, ...kubectl(stack) });
    expect(() => new VpcCniOwnership(stack, 'Cni', { cluster: ClusterTarget.fromEksV2Cluster(cluster), action }))
      .toThrow(/Stack\/Cni: invalid VpcCniOwnership props:\n- cluster: cluster Stack\/Cluster runs EKS Auto Mode .*defaultCapacityType: DefaultCapacityType\.NODEGROUP/);
  });

  test('inspect() of an Auto Mode cluster synthesizes (it never writes)', () => {
    const stack = newStack();
    const cluster = new eksv2.Cluster(stack, 'Cluster', { version: eksv2.KubernetesVersion.V1_33, ...kubectl(stack) });
    new VpcCniOwnership(stack, 'Cni', { cluster: ClusterTarget.fromEksV2Cluster(cluster), action: CniAction.inspect() });
    Template.fromStack(stack).resourceCountIs('Custom::VpcCniOwnership', 1);
  });

  test('the network presets on an Auto Mode cluster: the same error, before anything else', () => {
    const stack = newStack();
    const cluster = new eksv2.Cluster(stack, 'Cluster', { version: eksv2.KubernetesVersion.V1_33, ...kubectl(stack) });
    for (const network of [ClusterNetwork.helmManagedVpcCni(), ClusterNetwork.cilium({ createOperatorRole: false }), ClusterNetwork.calico()]) {
      expect(() => new ClusterNetworkSetup(new Stack(new App(), 'Other', { env: ENV }), 'Network', { cluster, network }))
        .toThrow(/runs EKS Auto Mode/);
    }
  });

  test('bootstrapSelfManagedAddons: false: an error naming it, for kube-proxy and CoreDNS too', () => {
    const stack = newStack();
    const cluster = new eksv2.Cluster(stack, 'Cluster', {
      version: eksv2.KubernetesVersion.V1_33,
      defaultCapacityType: eksv2.DefaultCapacityType.NODEGROUP,
      defaultCapacity: 0,
      bootstrapSelfManagedAddons: false,
      ...kubectl(stack),
    });
    expect(() => new PreinstalledAddonOwnership(stack, 'KubeProxy', {
      cluster: ClusterTarget.fromEksV2Cluster(cluster), addon: PreinstalledAddon.KUBE_PROXY, action: CniAction.remove(),
    })).toThrow(/Stack\/KubeProxy: invalid PreinstalledAddonOwnership props:\n- cluster: .*bootstrapSelfManagedAddons: false.*leave bootstrapSelfManagedAddons unset/);
  });

  test('node groups (defaultCapacityType NODEGROUP) synthesize', () => {
    const stack = newStack();
    const cluster = new eksv2.Cluster(stack, 'Cluster', {
      version: eksv2.KubernetesVersion.V1_33, defaultCapacityType: eksv2.DefaultCapacityType.NODEGROUP, defaultCapacity: 0, ...kubectl(stack),
    });
    new VpcCniOwnership(stack, 'Cni', { cluster: ClusterTarget.fromEksV2Cluster(cluster), action: CniAction.remove() });
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('default capacity'))).toEqual([]);
  });
});

describe('removing the VPC CNI from a cluster whose default capacity already runs warns', () => {
  test('a default node group: an acknowledgeable warning naming it and what to do', () => {
    const stack = newStack();
    const cluster = new eksv2.Cluster(stack, 'Cluster', {
      version: eksv2.KubernetesVersion.V1_33, defaultCapacityType: eksv2.DefaultCapacityType.NODEGROUP, ...kubectl(stack),
    });
    new VpcCniOwnership(stack, 'Cni', { cluster: ClusterTarget.fromEksV2Cluster(cluster), action: CniAction.remove() });
    const warnings = Annotations.fromStack(stack).findWarning('/Stack/Cni', Match.stringLikeRegexp('default capacity'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0].entry.data).toMatch(/Stack\/Cluster\/NodegroupDefaultCapacity.*run the VPC CNI when it is removed.*defaultCapacity: 0/);
    expect(warnings[0].entry.data).toContain(`[ack: ${NODES_BEFORE_REMOVAL_WARNING}]`);
  });

  test('the Cilium preset on such a cluster warns the same; adopting or disabling does not', () => {
    const stack = newStack();
    const cluster = new eksv2.Cluster(stack, 'Cluster', {
      version: eksv2.KubernetesVersion.V1_33, defaultCapacityType: eksv2.DefaultCapacityType.NODEGROUP, ...kubectl(stack),
    });
    new ClusterNetworkSetup(stack, 'Network', { cluster, network: ClusterNetwork.cilium({ createOperatorRole: false }) });
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('default capacity'))).toHaveLength(1);

    const adopt = newStack();
    const adoptCluster = new eksv2.Cluster(adopt, 'Cluster', {
      version: eksv2.KubernetesVersion.V1_33, defaultCapacityType: eksv2.DefaultCapacityType.NODEGROUP, ...kubectl(adopt),
    });
    new ClusterNetworkSetup(adopt, 'Network', { cluster: adoptCluster, network: ClusterNetwork.helmManagedVpcCni() });
    expect(Annotations.fromStack(adopt).findWarning('*', Match.stringLikeRegexp('default capacity'))).toEqual([]);
    const disable = newStack();
    const disableCluster = new eksv2.Cluster(disable, 'Cluster', {
      version: eksv2.KubernetesVersion.V1_33, defaultCapacityType: eksv2.DefaultCapacityType.NODEGROUP, ...kubectl(disable),
    });
    new VpcCniOwnership(disable, 'Disable', { cluster: ClusterTarget.fromEksV2Cluster(disableCluster), action: CniAction.disable() });
    expect(Annotations.fromStack(disable).findWarning('*', Match.stringLikeRegexp('default capacity'))).toEqual([]);
  });
});

describe('an imported cluster without what the preset needs', () => {
  test('node groups through the preset need the VPC: the error says which attribute to add', () => {
    const stack = newStack();
    const existing = eksv2.Cluster.fromClusterAttributes(stack, 'Existing', {
      clusterName: 'prod',
      kubectlProvider: eksv2.KubectlProvider.fromKubectlProviderAttributes(stack, 'Kubectl', {
        serviceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:kubectl', role: undefined as any,
      }),
    });
    const network = new ClusterNetworkSetup(stack, 'Network', { cluster: existing, network: ClusterNetwork.helmManagedVpcCni() });
    expect(() => network.addNodegroupCapacity('Nodes', { minSize: 2 }))
      .toThrow(/Stack\/Network: addNodegroupCapacity\("Nodes"\) needs the cluster's VPC: import the cluster with vpc/);
  });

  test('with the VPC given, the README example synthesizes', () => {
    const stack = newStack();
    const vpc = ec2.Vpc.fromLookup(stack, 'Vpc', { vpcId: 'vpc-12345678' });
    const existing = eksv2.Cluster.fromClusterAttributes(stack, 'Existing', {
      clusterName: 'prod',
      vpc,
      kubectlProvider: eksv2.KubectlProvider.fromKubectlProviderAttributes(stack, 'Kubectl', {
        serviceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:kubectl', role: undefined as any,
      }),
    });
    const network = new ClusterNetworkSetup(stack, 'Network', { cluster: existing, network: ClusterNetwork.helmManagedVpcCni() });
    network.addNodegroupCapacity('Nodes', { minSize: 2 });
    Template.fromStack(stack).resourceCountIs('AWS::EKS::Nodegroup', 1);
  });
});

describe('cilium() uses the native OIDC provider: no deprecation warning', () => {
  test('a created cluster gets an AWS::IAM::OIDCProvider, not the deprecated custom resource; the cluster keeps it as its own', () => {
    const stack = newStack();
    const cluster = new eksv2.Cluster(stack, 'Cluster', {
      version: eksv2.KubernetesVersion.V1_33, defaultCapacityType: eksv2.DefaultCapacityType.NODEGROUP, defaultCapacity: 0, ...kubectl(stack),
    });
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      new ClusterNetworkSetup(stack, 'Network', { cluster, network: ClusterNetwork.cilium({ kubeProxyReplacement: true }) });
      const template = Template.fromStack(stack);
      template.resourceCountIs('AWS::IAM::OIDCProvider', 1);
      template.resourceCountIs('Custom::AWSCDKOpenIdConnectProvider', 0);
      // Asking the cluster afterwards gives the same provider, not a second one for the same issuer.
      expect(cluster.openIdConnectProvider.node.path).toBe('Stack/Cluster/OidcProviderNative');
      expect(warn.mock.calls.map((c) => String(c[0])).filter((m) => /deprecated/i.test(m) && /OpenIdConnectProvider/.test(m))).toEqual([]);
    } finally {
      warn.mockRestore();
    }
  });
});
