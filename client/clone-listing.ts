import type { WorkflowStartOptions } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import type { CloneRequest } from '../common/request.js';
import {
  CLONE_NODE,
  CLONE_OUTCOME,
  CLONE_SNAPSHOT,
  CLONE_STEP,
  type CloneOutcome,
} from '../common/search-attributes.js';

// How a clone is listed in the Web UI from the moment it starts: a one-line summary, the
// request as details, and the search attributes to filter by. The workflow keeps the
// attributes current as it goes; setting them here makes a new clone findable at once.

export function cloneListing(
  request: CloneRequest
): Pick<WorkflowStartOptions, 'staticSummary' | 'staticDetails' | 'typedSearchAttributes'> {
  return {
    staticSummary: `clone VM ${request.vmName} from snapshot ${request.snapshot} on ${request.node}`,
    staticDetails: describeRequest(request),
    typedSearchAttributes: new TypedSearchAttributes([
      { key: CLONE_NODE, value: request.node },
      { key: CLONE_SNAPSHOT, value: request.snapshot },
      { key: CLONE_STEP, value: 'validate' },
      { key: CLONE_OUTCOME, value: 'running' satisfies CloneOutcome },
    ]),
  };
}

// Markdown, rendered by the Web UI: the fields an operator asks about first.
function describeRequest(request: CloneRequest): string {
  const rows: [string, string | undefined][] = [
    ['node', request.node],
    ['VM', request.vmName],
    ['snapshot', request.snapshot],
    ['request id', request.requestId],
    ['pinned base', request.base ? `${request.base.image} @ ${request.base.digest}` : undefined],
    ['resources', request.resources ? JSON.stringify(request.resources) : undefined],
  ];
  return rows
    .filter((row): row is [string, string] => row[1] !== undefined)
    .map(([name, value]) => `- **${name}**: \`${value}\``)
    .join('\n');
}
