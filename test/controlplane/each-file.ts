import { emptyScratch } from '../support/scratch';

// Before each test file: what the previous one left in the run's temporary directory goes.
if (process.env.CNI_TEST_SCRATCH) emptyScratch(process.env.CNI_TEST_SCRATCH);
