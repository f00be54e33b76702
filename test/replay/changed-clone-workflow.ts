import { sleep } from '@temporalio/workflow';

// A deliberately incompatible `cloneVM`, for proving that replay catches a change to the
// workflow's commands: it starts a timer where the real one schedules its first activity.
export async function cloneVM(): Promise<void> {
  await sleep('1 minute');
}
