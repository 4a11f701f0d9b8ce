import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { OutputTail } from "./output-tail";

/**
 * The homes of sleeping local sandboxes: one zstd-compressed tar archive per connection, in a
 * 0700 dir of Berth's data dir, each file 0600 and named after the connection's UUID only.
 *
 * Berth never reads or writes a home itself: the archive is made and unpacked by tar running
 * with the sandbox's own confinement (bubblewrap.ts: the account's uid, a view holding only the
 * home, /usr and a few /etc files), and Berth only copies tar's output, capped, into the file
 * and hands the file to the next sandbox's tar as an open descriptor. A symlink or a name in a
 * home therefore means nothing on the host.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Longer means a home tar cannot read in time (the sandbox is stopped regardless). */
const SAVE_TIMEOUT_MS = 60_000;

/** tar's arguments: sparse files stay sparse; owners, ACLs and xattrs are not kept. */
export const TAR_CREATE = [
  "--create",
  "--file=-",
  "--zstd",
  "--sparse",
  "--one-file-system",
  "--numeric-owner",
  "--no-acls",
  "--no-xattrs",
  "--no-selinux",
  ".",
];
/** Unpacked as the sandbox's unprivileged user, so setuid bits and owners are dropped anyway. */
export const TAR_EXTRACT = ["--extract", "--file=-", "--zstd", "--no-same-owner", "--no-same-permissions"];

/**
 * A stage of the start chain, before the server: runs `command` (which unpacks an archive from
 * its stdin into the home) with fd `archive` as its stdin and no other descriptor but stderr,
 * writes its exit status to fd `status`, closes both, and goes on to the server only when it
 * succeeded. Fixed text; the fds and commands reach it as arguments.
 */
const RESTORE = [
  "a=$1 s=$2 n=$3; shift 3",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: bash parameter expansion
  'cmd=("${@:1:n}"); shift "$n"',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: bash parameter expansion
  '( exec <&"$a" >&2; for f in /proc/$BASHPID/fd/*; do k=${f##*/}; if [ "$k" -gt 2 ]; then { exec {k}>&-; } 2>/dev/null; fi; done; exec "${cmd[@]}" )',
  "r=$?",
  'echo "$r" >&"$s"',
  "exec {a}<&- {s}>&-",
  '[ "$r" = 0 ] || exit 125',
  'exec "$@"',
].join("\n");

/** The restore stage's argv (`rest` of the chain follows it); fds `first` and `first + 1`. */
export function restoreStage(bash: string, first: number, command: string[]): string[] {
  return [bash, "--norc", "--noprofile", "-c", RESTORE, "berth-restore", String(first), String(first + 1)].concat(
    String(command.length),
    command,
  );
}

export class SleepingHomes {
  /** Bytes of each account's archives, and which account each connection's archive counts for. */
  private readonly accountBytes = new Map<string, number>();
  private readonly owners = new Map<string, { accountId: string; bytes: number }>();

  /** The dir is made with the first home kept: a Berth that never sleeps a sandbox has none. */
  constructor(readonly dir: string) {}

  /** The archive of a connection's home; undefined for an id that is not a UUID (never a path). */
  file(connectionId: string | undefined): string | undefined {
    return connectionId && UUID.test(connectionId)
      ? path.join(this.dir, `${connectionId.toLowerCase()}.tar.zst`)
      : undefined;
  }

  /** What one account's kept homes take on Berth's disk (those kept by this process). */
  bytesOf(accountId: string) {
    return this.accountBytes.get(accountId) ?? 0;
  }

  /** Whether the disk has room for one more archive of `maxBytes`, a tenth of it left free for everything else. */
  roomFor(maxBytes: number) {
    const disk = fs.statfsSync(path.dirname(this.dir)); // the same disk, there before the dir is
    return (disk.bavail - disk.blocks / 10) * disk.bsize >= maxBytes;
  }

  private count(connectionId: string, accountId: string | undefined, bytes: number) {
    this.uncount(connectionId);
    if (!accountId) return;
    this.owners.set(connectionId, { accountId, bytes });
    this.accountBytes.set(accountId, this.bytesOf(accountId) + bytes);
  }

  private uncount(connectionId: string) {
    const owner = this.owners.get(connectionId);
    if (!owner) return;
    this.owners.delete(connectionId);
    const left = this.bytesOf(owner.accountId) - owner.bytes;
    if (left > 0) this.accountBytes.set(owner.accountId, left);
    else this.accountBytes.delete(owner.accountId);
  }

  /** The archive, opened for the next sandbox's restore stage; undefined when there is none. */
  open(connectionId: string | undefined): number | undefined {
    const file = this.file(connectionId);
    if (!file) return undefined;
    try {
      return fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    } catch {
      return undefined;
    }
  }

  /**
   * Runs `argv` (tar writing the home's archive on its stdout, in the sandbox's confinement) and
   * keeps what it writes as the connection's archive, at most `maxBytes`: a home that does not
   * fit, or a tar that fails or hangs, leaves no archive (and the error says why).
   */
  async save(
    connectionId: string,
    argv: string[],
    env: Record<string, string>,
    maxBytes: number,
    accountId?: string,
  ): Promise<void> {
    const file = this.file(connectionId);
    if (!file) throw new Error("the connection id is not a UUID");
    // Never the archive that fills Berth's disk: a tenth of it stays free for everything else.
    if (!this.roomFor(maxBytes)) throw new Error("Berth's disk is nearly full");
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(this.dir, 0o700);
    const partial = `${file}.partial`;
    fs.rmSync(partial, { force: true });
    const out = fs.openSync(partial, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    const [command, ...args] = argv;
    const child = spawn(command as string, args, {
      env: env as NodeJS.ProcessEnv,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // tar and zstd in one group: a timeout or the cap ends both
    });
    const tail = new OutputTail();
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => tail.push(d));
    let failure: string | undefined;
    const stop = (why: string) => {
      failure ??= why;
      killGroup(child);
    };
    const timer = setTimeout(() => stop(`tar took longer than ${SAVE_TIMEOUT_MS / 1000} s`), SAVE_TIMEOUT_MS);
    let size = 0;
    try {
      child.stdout.on("data", (chunk: Buffer) => {
        if (failure) return;
        size += chunk.length;
        if (size > maxBytes) return stop(`the archive is larger than the home's cap (${maxBytes} bytes)`);
        fs.writeSync(out, chunk);
      });
      const code = await new Promise<number | null>((resolve) => {
        child.once("error", (err) => stop(err.message));
        child.once("close", (c) => resolve(c));
      });
      // 1: a file changed or vanished while tar read it (the server still runs): the archive is whole.
      if (!failure && code !== 0 && code !== 1) failure = `tar exited with ${code}: ${tail.text().trim().slice(-500)}`;
      if (failure) throw new Error(failure);
      fs.fsyncSync(out);
      fs.renameSync(partial, file);
      this.count(connectionId, accountId, size);
    } finally {
      clearTimeout(timer);
      fs.closeSync(out);
      fs.rmSync(partial, { force: true });
    }
  }

  /** Drops a connection's archive: restored, or the connection deleted. */
  drop(connectionId: string | undefined) {
    const file = this.file(connectionId);
    if (file) fs.rmSync(file, { force: true });
    if (connectionId) this.uncount(connectionId);
  }
}

function killGroup(child: ChildProcess) {
  try {
    if (child.pid) process.kill(-child.pid, "SIGKILL");
  } catch {
    // gone
  }
}
