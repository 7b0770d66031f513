// EksClusterWithNetwork with a CNI chart of the user's choice (here Cilium in overlay mode with its
// own IPAM and no kube-proxy, configured entirely by the user's values): the VPC CNI is removed and
// kube-proxy disabled, then the chart is installed with the API server's host where it reads it,
// then the node group is created.
import { KubectlV33Layer } from '@aws-cdk/lambda-layer-kubectl-v33';
import { IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App, Stack, aws_ec2 as ec2, aws_eks_v2 as eks } from 'aws-cdk-lib';
import { ClusterNetwork, CrdPolicy, EksClusterWithNetwork } from '../src';
import { checkAwsSolutions } from './nag';

const app = new App();
const stack = new Stack(app, 'ClusterWithCustomChart');
const cluster = new EksClusterWithNetwork(stack, 'Cluster', {
  version: eks.KubernetesVersion.V1_33,
  kubectlProviderOptions: { kubectlLayer: new KubectlV33Layer(stack, 'Kubectl') },
  network: ClusterNetwork.customChart({
    repository: 'https://helm.cilium.io',
    chart: 'cilium',
    version: '1.19.5',
    release: 'cilium-overlay',
    releaseNamespace: 'kube-system',
    crdPolicy: CrdPolicy.KEEP,
    disableKubeProxy: true,
    apiServerHostValuePath: 'k8sServiceHost',
    values: {
      routingMode: 'tunnel',
      tunnelProtocol: 'vxlan',
      ipam: { mode: 'cluster-pool', operator: { clusterPoolIPv4PodCIDRList: ['10.244.0.0/16'] } },
      kubeProxyReplacement: true,
      k8sServicePort: 443,
    },
  }),
});
cluster.addNodegroupCapacity('Nodes', { amiType: eks.NodegroupAmiType.AL2023_X86_64_STANDARD, instanceTypes: [new ec2.InstanceType('m6i.large')], minSize: 2 });

new IntegTest(app, 'ClusterCustomChart', { testCases: [stack] });
checkAwsSolutions(app);
