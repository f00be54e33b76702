import { FailureType } from '../common/failures.js';
import {
  describeProblems,
  validateBaseImage,
  validateCloneRequest,
  type CloneResources,
  type ImageType,
  type RequestProblem,
} from '../common/request.js';
import { failure } from './to-failure.js';

// Anyone who can start a workflow drives a root process on every node, so each activity checks
// its own input again before it touches the disk or runs cocoon: a workflow bug, a replayed
// history or a hand-made start must not get a traversal path or a flag into an argv.

interface NodeStepInput {
  vmName?: string;
  snapshot?: string;
  resources?: CloneResources;
  image?: { image: string; digest: string; type: ImageType };
}

// Stands in for the request fields a step does not use, so one validator checks the rest.
const PLACEHOLDER = { node: 'node', vmName: 'vm', snapshot: 'snapshot' };

export function guardInput(what: string, input: NodeStepInput): void {
  const problems: RequestProblem[] = [];
  const { image, ...request } = input;

  const checked = validateCloneRequest({ ...PLACEHOLDER, ...dropUndefined(request) });
  if (!checked.ok) problems.push(...checked.problems);
  if (image) {
    const base = validateBaseImage(image, 'image');
    if (!base.ok) problems.push(...base.problems);
  }

  if (problems.length > 0) {
    throw failure(
      FailureType.InvalidRequest,
      `${what}: refused input: ${describeProblems(problems)}`,
      { problems }
    );
  }
}

function dropUndefined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}
