import { log } from '@temporalio/activity';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FailureType } from '../../common/failures.js';
import type { CloneResources } from '../../common/request.js';
import type { VmRecord } from '../../common/vm-record.js';
import type { CocoonCli } from '../cocoon/cocoon-cli.js';
import { failure, toFailure } from '../to-failure.js';
import type { CloneLedger } from './clone-ledger.js';
import { identifyProcess, isStillRunning } from './process-identity.js';

// How often an earlier attempt's `vm clone` is checked for having finished.
const EARLIER_CLONE_POLL_MS = 500;

export interface RestoreInput {
  cloneId: string;
  snapshot: string;
  vmName: string;
  resources?: CloneResources;
}

/**
 * `cocoon vm clone`, safe to run again: a VM this clone already made is adopted, a placeholder
 * its killed attempt left is removed first, and a VM anyone else made is never touched. The
 * ledger says which is which.
 */
export class VmRestorer {
  constructor(
    private readonly cocoon: CocoonCli,
    private readonly ledger: CloneLedger,
    private readonly ledgerDir: string
  ) {}

  async restore(input: RestoreInput, what: string): Promise<VmRecord> {
    await this.waitForEarlierCloneProcess(input);
    const existing = await this.cocoon.inspectVm(input.vmName);
    if (existing) {
      const adopted = await this.settleExistingVm(existing, input, what);
      if (adopted) return adopted;
    }

    await this.ledger.claim(input.vmName, input.cloneId);
    try {
      // Never cancelled: killing `vm clone` mid-restore leaves a placeholder and a network
      // allocation behind. It is let finish, and compensation removes the VM.
      return await this.cocoon.cloneVm(
        input.snapshot,
        { name: input.vmName, ...input.resources },
        {
          outliveWorker: { outputBase: this.outputBase(input.vmName) },
          onStart: async (pid) => {
            const identity = await identifyProcess(pid);
            await this.ledger.claim(input.vmName, input.cloneId, identity);
          },
        }
      );
    } catch (error) {
      const failed = toFailure(error, what);
      // The name went to someone else between our check and the clone: the ledger must not
      // keep claiming a VM this clone did not make.
      if ((failed as { type?: string }).type === FailureType.VmNameTaken) {
        await this.ledger.release(input.vmName, input.cloneId);
      }
      throw failed;
    }
  }

  // An attempt killed with its worker leaves its `vm clone` running (it is never killed). The
  // next attempt lets it finish before judging what it made.
  private async waitForEarlierCloneProcess(input: RestoreInput): Promise<void> {
    const entry = await this.ledger.entry(input.vmName);
    const earlier = entry?.cloneId === input.cloneId ? entry.cloneProcess : undefined;
    if (!earlier) return;

    if (await isStillRunning(earlier)) {
      log.info('Waiting for the vm clone of an earlier attempt to finish', {
        vmName: input.vmName,
        pid: earlier.pid,
      });
      while (await isStillRunning(earlier)) await sleep(EARLIER_CLONE_POLL_MS);
    }
    // Its output files had no reader left; this attempt judges by `vm inspect` instead.
    const base = this.outputBase(input.vmName);
    await Promise.all([
      rm(`${base}.stdout`, { force: true }),
      rm(`${base}.stderr`, { force: true }),
    ]);
  }

  private outputBase(vmName: string): string {
    return join(this.ledgerDir, 'output', vmName);
  }

  private async settleExistingVm(
    existing: VmRecord,
    input: RestoreInput,
    what: string
  ): Promise<VmRecord | undefined> {
    const owner = await this.ledger.owner(input.vmName);
    if (owner !== input.cloneId) {
      throw failure(
        FailureType.VmNameTaken,
        `${what}: a VM named ${input.vmName} (id ${existing.id}, state ${existing.state}) already exists and was not made by this clone; remove it or choose another name`
      );
    }

    if (existing.state === 'running') {
      log.info('Adopting VM made by an earlier attempt', { vmName: input.vmName, id: existing.id });
      return existing;
    }

    // A `creating` placeholder or a dead VM from an attempt that was killed: start over.
    log.warn('Removing leftover VM of an earlier attempt', {
      vmName: input.vmName,
      state: existing.state,
    });
    await this.cocoon.removeVm(input.vmName);
    return undefined;
  }
}
