import type { WorkflowHandle } from '@temporalio/client';

// Where a clone's time went, read from its history's event times: workflow tasks (queued and
// processed), activities waiting to be picked up, and each activity's own run. What is left
// between the client's start and the result is the client's own round trips.

export interface TimeBreakdown {
  workflowTasks: number;
  workflowTaskMs: number;
  activities: number;
  activityDispatchMs: number;
  activityRunMs: Record<string, number>;
  totalMs: number;
}

type HistoryEvent = NonNullable<
  Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']
>[number];

export async function timeBreakdown(handle: WorkflowHandle): Promise<TimeBreakdown> {
  const events = (await handle.fetchHistory()).events ?? [];
  const at = new Map(events.map((event) => [String(event.eventId), millis(event)]));
  const names = new Map<string, string>();
  const breakdown: TimeBreakdown = {
    workflowTasks: 0,
    workflowTaskMs: 0,
    activities: 0,
    activityDispatchMs: 0,
    activityRunMs: {},
    totalMs: millis(events.at(-1)) - millis(events[0]),
  };

  for (const event of events) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) {
      breakdown.activities += 1;
      names.set(String(event.eventId), scheduled.activityType?.name ?? '?');
    }

    const started = event.activityTaskStartedEventAttributes;
    if (started) {
      breakdown.activityDispatchMs +=
        millis(event) - (at.get(String(started.scheduledEventId)) ?? 0);
    }
    const completed = event.activityTaskCompletedEventAttributes;
    if (completed) {
      const name = names.get(String(completed.scheduledEventId)) ?? '?';
      const runMs = millis(event) - (at.get(String(completed.startedEventId)) ?? 0);
      breakdown.activityRunMs[name] = (breakdown.activityRunMs[name] ?? 0) + runMs;
    }
    const taskDone = event.workflowTaskCompletedEventAttributes;
    if (taskDone) {
      breakdown.workflowTasks += 1;
      breakdown.workflowTaskMs += millis(event) - (at.get(String(taskDone.scheduledEventId)) ?? 0);
    }
  }
  return breakdown;
}

function millis(event: HistoryEvent | undefined): number {
  const time = event?.eventTime;
  return time ? Number(time.seconds) * 1000 + (time.nanos ?? 0) / 1e6 : 0;
}

export function describeBreakdown(breakdown: TimeBreakdown): string {
  const runs = Object.entries(breakdown.activityRunMs)
    .map(([name, ms]) => `${name} ${ms.toFixed(0)} ms`)
    .join(', ');
  return `one workflow clone, from its history: ${breakdown.totalMs.toFixed(0)} ms in all; ${breakdown.workflowTasks} workflow tasks took ${breakdown.workflowTaskMs.toFixed(0)} ms (queued and processed); activities waited ${breakdown.activityDispatchMs.toFixed(0)} ms to be picked up; activities ran: ${runs}`;
}
