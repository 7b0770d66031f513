export * from './cluster-target';
export * from './vpc-cni-ownership';
