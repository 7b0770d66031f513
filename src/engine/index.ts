// The ownership engine: observe an add-on's objects (from its definition), plan writes, apply them. Pure of AWS and of any one add-on.
export * from './types';
export * from './objects';
export * from './addon-chart';
export * from './kube-client';
export * from './managed-fields';
export * from './managers';
export * from './validate';
export { DISABLED_NODE_SELECTOR_KEY, OWN_FIELD_MANAGER, EKS_FIELD_MANAGER } from './helm';
export { recoveryCopyObject, RECOVERY_COPY_LABELS, asApplied } from './recovery';
export { observe, CustomResourcesNotServedError, createdByEksOnly } from './observe';
export type { ObserveOptions } from './observe';
export { plan, OwnedByOthersError, UnexpectedClusterStateError } from './plan';
export type { PlanOptions } from './plan';
export { run, PartialApplyError, PreflightRefusedError, HandOverNotKeptError } from './run';
export type { RunOptions, RunResult, EngineLog } from './run';
export { formatObservation, formatPlan, table } from './format';
