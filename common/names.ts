// Names both sides of the wire agree on: task queues, workflow ids and types.

/** Workflow tasks are not tied to a host, so every worker polls this one queue. */
export const CLONE_WORKFLOW_QUEUE = 'cocoon-clone';

export const CLONE_WORKFLOW_TYPE = 'cloneVM';

const NODE_QUEUE_PREFIX = 'cocoon-node-';

/**
 * The queue of one VM host. It derives from the node name alone, so a worker restarted on the
 * same host finds the backlog its predecessor left.
 */
export function nodeTaskQueue(node: string): string {
  return `${NODE_QUEUE_PREFIX}${node}`;
}

/**
 * One clone request maps to one workflow id: node, VM name and the caller's request id (the pod
 * UID for vk-cocoon). Resources are left out on purpose, so a retried start with the same
 * request joins the clone already under way instead of racing it for the VM name.
 */
export function cloneWorkflowId(node: string, vmName: string, requestId?: string): string {
  const base = `clone/${node}/${vmName}`;
  return requestId ? `${base}/${requestId}` : base;
}
