export * from './cluster-target';
export * from './vpc-cni-ownership';
export * from './kubernetes-access';
export * from './cluster-network';
export * from './cluster-network-setup';
export * from './eks-cluster-with-network';
export * from './helm-managed-coredns';
