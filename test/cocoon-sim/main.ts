// cocoon simulator: a stand-in for the `cocoon` CLI for tests on machines without Cloud
// Hypervisor. It keeps cocoon's argv, stdout JSON, stderr log and `Error:` lines, exit codes and
// on-disk layout for image pull/inspect/list/import/rm, snapshot import/inspect/list,
// vm clone/inspect/list/rm and version. The executable is the wrapper script `cocoon` next to
// this file; with no command it prints help and exits 0, so a test runner that executes every
// file under dist/test/ runs it harmlessly.
//
// Where cocoon's behaviour is not known in detail, the simulator chooses:
// - Locks are O_EXCL files holding the owner's pid (Node has no flock), retried every 50 ms;
//   they exist only while held, and a lock whose owner died is taken over.
// - Timestamps are RFC3339Nano in local time but only millisecond precise.
// - A non-forced pull that short-circuits logs `image already cached, skipping download: ...`.
// - Content sniffing checks HTML/XML and archive magic before size, so a short error page is
//   reported as HTML. Non-qcow2 content goes to `qemu-img info`; only raw is accepted.
// - Progress on stdout prints raw byte counts, redrawn at most every 200 ms.
// - Concurrent commits of one digest share the staging file; a commit that finds the blob
//   already moved into place by another process counts as done.
// - OCI: there is no registry client. Only `repo@sha256:<hex>` pulls are accepted; they record
//   the ref in `<root>/oci/db/images.json` and write a placeholder `<root>/oci/blobs/<hex>.erofs`
//   that stands in for every layer, which is what OCI clones verify.
// - `image import` accepts qcow2 (optionally gzip-compressed, several files concatenated, or
//   stdin); raw files and OCI tarballs are refused. `image rm` resolves every ref before
//   deleting any.
// - Snapshot and VM databases have their own schemas, described in snapshot-store.ts and
//   vm-store.ts. Snapshot archives without image_blob_ids get {<digest hex>: {}}; only regular
//   files and directories are extracted from them.
// - vm clone checks snapshot integrity (config.json, state.json and overlay.qcow2, or cow.raw
//   for OCI); it does not model firmware, CNI, NIC hot-swap or a storage-growth resize, so a
//   missing cloud-image blob always surfaces at vm.restore. --cpu above the host's cores fails.
// - A clone's NICs get addresses derived from the VM ID (10.22.x.y/16, MAC 02:42:0a:16:..);
//   --bridge gives NICs without an address. Without -o json, clone prints a short guest hint.
// - Cancelling a clone reports `clone VM: context canceled` and always completes its rollback.
// - vm rm checks the live process, not the stored state: a stale "running" VM needs no --force.
//   The stand-in gets SIGTERM, then SIGKILL after 2 s (not cocoon's ACPI wait). Several
//   failing items are joined with "; " into one Error line. `deleted VM: <id>` is logged only
//   without -o json.
// - The stand-in hypervisor is `sleep 2147483` with argv[0] "cloud-hypervisor", detached; a
//   pid whose argv[0] differs is treated as dead, so a recycled pid is never killed.
// - --config, --log-dir, --cni-conf-dir, --cni-bin-dir, --dns and --log-level are accepted and
//   ignored. COCOON_ROOT_DIR and COCOON_RUN_DIR are honoured below the flags, as viper does.
// - Test knob COCOON_SIM_CLONE_DELAY_MS: milliseconds to pause after the clone's `creating`
//   record is reserved, to observe the placeholder or interrupt the clone.

import { parseInvocation } from './args.js';
import { COMMANDS, GLOBAL_FLAGS } from './commands.js';
import { messageOf } from './errors.js';
import { createLayout } from './layout.js';
import { printErrorLine } from './log.js';
import { printText } from './output.js';

function pickDir(flagValue: string, explicit: boolean, envName: string): string {
  return explicit ? flagValue : process.env[envName] || flagValue;
}

async function run(argv: string[], signal: AbortSignal): Promise<void> {
  const invocation = parseInvocation(argv, COMMANDS, GLOBAL_FLAGS);
  if (invocation.kind === 'help') {
    printText(invocation.text);
    return;
  }

  const { command, flags, args } = invocation;
  const rootDir = pickDir(flags.string('root-dir'), flags.has('root-dir'), 'COCOON_ROOT_DIR');
  const runDir = pickDir(flags.string('run-dir'), flags.has('run-dir'), 'COCOON_RUN_DIR');
  if (!rootDir || !runDir) {
    throw new Error(`config: ${rootDir ? 'run_dir' : 'root_dir'} must not be empty`);
  }

  await command.run({ layout: createLayout(rootDir, runDir), args, flags, signal });
}

async function main(): Promise<number> {
  const controller = new AbortController();
  const cancel = (): void => controller.abort();
  process.on('SIGTERM', cancel);
  process.on('SIGINT', cancel);

  try {
    await run(process.argv.slice(2), controller.signal);
    return 0;
  } catch (err) {
    printErrorLine(messageOf(err));
    return 1;
  }
}

// Exit explicitly: keep-alive sockets or a detached child must not hold the CLI open. But only
// once stdout is flushed: on a pipe, output beyond its buffer (a long `vm list`) would be cut.
const code = await main();
process.stdout.write('', () => process.exit(code));
