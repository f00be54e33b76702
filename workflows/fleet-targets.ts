import { log } from '@temporalio/workflow';
import { FailureType } from '../common/failures.js';
import { describeProblems, type Validation } from '../common/request.js';
import { cloneFailure } from './clone-failure.js';
import { fleetDiscoveryActivities } from './fleet-activity-options.js';

// What every fleet run does first: check its request and decide which nodes it covers.

/** The request, checked again inside the workflow; a bad one fails the run as InvalidRequest. */
export function checkedRequest<T>(what: string, validation: Validation<T>): T {
  if (validation.ok) return validation.value;
  throw cloneFailure(
    FailureType.InvalidRequest,
    `invalid ${what} request: ${describeProblems(validation.problems)}`,
    { problems: validation.problems }
  );
}

/** The named nodes, or every node whose worker announced itself recently. */
export async function targetNodes(named: string[] | undefined): Promise<string[]> {
  if (named) return named;
  const discovered = await fleetDiscoveryActivities().discoverFleetNodes.executeWithOptions(
    { summary: 'list the nodes whose workers announced themselves' },
    [{}]
  );
  log.info('Discovered the live nodes', { nodes: discovered });
  return discovered;
}
