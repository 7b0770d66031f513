// The ownership engine: observe the VPC CNI objects, plan writes, apply them. Pure of AWS.
export * from './types';
export * from './objects';
export * from './kube-client';
export * from './managed-fields';
export * from './managers';
export * from './validate';
export * from './chart-values';
export { EKS_RELEASE_NAME } from './helm';
export { observe, CustomResourcesNotServedError } from './observe';
export type { ObserveOptions } from './observe';
export { plan, OwnedByOthersError, UnexpectedClusterStateError } from './plan';
export type { PlanOptions } from './plan';
export { run, PartialApplyError, PreflightRefusedError, HandOverNotKeptError } from './run';
export type { RunOptions, RunResult, EngineLog } from './run';
export { formatObservation, formatPlan, table } from './format';
