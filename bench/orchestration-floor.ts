import type { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import type { FloorInput } from './floor-workflow.js';

// The floor under the fast-path overhead: a workflow with as many activities as a fast-path
// clone, each on another task queue and doing nothing, on the same dev server and set up as a
// node worker is (one connection of its own, a workflow worker and a node-queue worker in one
// process). Its run time is what the workflow tasks and activity dispatches cost by themselves.

const WORKFLOW_QUEUE = 'bench-floor-workflows';
const NODE_QUEUE = 'bench-floor-node';

export class OrchestrationFloor {
  private runs = 0;

  private constructor(
    private readonly client: Client,
    private readonly workers: Worker[],
    private readonly running: Promise<unknown>,
    private readonly connection: NativeConnection
  ) {}

  static async start(client: Client, address: string): Promise<OrchestrationFloor> {
    const connection = await NativeConnection.connect({ address });
    const workflows = await Worker.create({
      connection,
      taskQueue: WORKFLOW_QUEUE,
      workflowsPath: fileURLToPath(new URL('./floor-workflow.js', import.meta.url)),
    });
    const node = await Worker.create({
      connection,
      taskQueue: NODE_QUEUE,
      activities: { emptyStep: async () => undefined },
    });
    const running = Promise.all([workflows.run(), node.run()]);
    return new OrchestrationFloor(client, [workflows, node], running, connection);
  }

  /** Runs one floor workflow of `steps` empty activities to its end. */
  async run(steps: number): Promise<void> {
    this.runs += 1;
    const input: FloorInput = { steps, nodeQueue: NODE_QUEUE };
    await this.client.workflow.execute('orchestrationFloor', {
      taskQueue: WORKFLOW_QUEUE,
      workflowId: `bench-floor-${process.pid}-${this.runs}`,
      args: [input],
    });
  }

  async stop(): Promise<void> {
    for (const worker of this.workers) worker.shutdown();
    await this.running;
    await this.connection.close();
  }
}
