// The ownership engine: observe the VPC CNI objects, plan writes, apply them. Pure of AWS.
export * from './types';
export * from './objects';
export * from './kube-client';
export * from './managed-fields';
export { observe, ObserveOptions } from './observe';
export { plan, PlanOptions, OwnedByOthersError, UnexpectedClusterStateError } from './plan';
export { run, RunOptions, RunResult, EngineLog, PartialApplyError } from './run';
export { formatObservation, formatPlan, table } from './format';
