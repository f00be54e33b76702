import { proxyActivities } from '@temporalio/workflow';

// Workflow code of the orchestration floor (orchestration-floor.ts): the fast path's shape, one
// activity after another on a node's queue, with nothing in the activities and nothing else in
// the workflow. What it costs is Temporal's own share of a clone.

export interface FloorInput {
  steps: number;
  nodeQueue: string;
}

export async function orchestrationFloor(input: FloorInput): Promise<void> {
  const { emptyStep } = proxyActivities<{ emptyStep(): Promise<void> }>({
    startToCloseTimeout: '1 minute',
    taskQueue: input.nodeQueue,
  });
  for (let step = 0; step < input.steps; step++) await emptyStep();
}
