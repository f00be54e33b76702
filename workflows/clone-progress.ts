import { ApplicationFailure, isCancellation, metricMeter, setHandler } from '@temporalio/workflow';
import type { BaseImage, CloneRequest } from '../common/request.js';
import { cloneStatusQuery, type CloneStatus, type CloneStep } from '../common/status.js';
import { asCloneFailure } from './clone-failure.js';
import { showBaseDigest, showOutcome, showStarted, showStep } from './clone-visibility.js';

/**
 * Keeps the clone's current step, attempts and timings, answers the status query, and shows
 * them to operators as search attributes and the details on the clone's page.
 */
export class CloneProgress {
  readonly status: CloneStatus;

  constructor(request: CloneRequest) {
    this.status = {
      step: 'validate',
      node: String(request.node),
      vmName: String(request.vmName),
      snapshot: String(request.snapshot),
      pullAttempts: 0,
      steps: [],
    };
    setHandler(cloneStatusQuery, () => this.status);
  }

  /** Called once the request is valid: only then are its fields safe to index. */
  start(): void {
    showStarted(this.status);
  }

  setBase(base: BaseImage): void {
    this.status.base = base;
    showBaseDigest(this.status, base.digest);
  }

  /** Runs one step, records its timing, and turns its failure into a typed clone failure. */
  async run<T>(step: CloneStep, work: () => Promise<T>): Promise<T> {
    this.status.step = step;
    const timing: CloneStatus['steps'][number] = { step, startedAt: new Date().toISOString() };
    this.status.steps.push(timing);
    showStep(this.status);

    try {
      const result = await work();
      timing.outcome = 'ok';
      return result;
    } catch (error) {
      timing.outcome = 'failed';
      throw asCloneFailure(error, step, this.status.node);
    } finally {
      timing.endedAt = new Date().toISOString();
    }
  }

  countPull(): void {
    this.status.pullAttempts += 1;
  }

  finish(): void {
    this.status.step = 'done';
    showOutcome(this.status, 'succeeded');
    countClone('succeeded');
  }

  fail(error: unknown): void {
    if (isCancellation(error)) {
      this.status.step = 'cancelled';
      showOutcome(this.status, 'cancelled');
      countClone('cancelled');
      return;
    }
    this.status.step = 'failed';
    if (error instanceof ApplicationFailure) {
      this.status.failure = { type: error.type ?? 'Unknown', message: error.message };
    }
    showOutcome(this.status, 'failed');
    countClone('failed', this.status.failure?.type ?? 'Unknown');
  }
}

// Clones by how they ended, on the worker's metrics endpoint. The SDK drops metrics recorded
// while a history is replayed, so each ending counts once.
function countClone(outcome: 'succeeded' | 'failed' | 'cancelled', failureType = ''): void {
  metricMeter
    .createCounter('cocoon_flow_clones', 'clones', 'Clones by how they ended')
    .add(1, { outcome, failure_type: failureType });
}
