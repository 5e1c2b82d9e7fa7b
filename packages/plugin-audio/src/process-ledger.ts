import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@robian/core';

/** A process identified by its pid and its start time (a pid reused by another process has another start time). */
export interface ProcessId {
  pid: number;
  started: string;
}

/** What one instance's state file says: who it is, the FFmpeg/yt-dlp it runs, the temp files they write. */
export interface LedgerRecord {
  host: string;
  instance: ProcessId;
  processes: ProcessId[];
  temp: string[];
}

export interface ReapReport {
  /** State files of dead instances of this machine that were handled. */
  instances: number;
  killed: number[];
  removed: string[];
}

const PROC = existsSync('/proc/self/stat');

/**
 * When a process started, as this machine tells it (Linux: the start tick in /proc/<pid>/stat; elsewhere
 * `ps -o lstart=`); undefined when no such process is running (a zombie counts as gone).
 */
export function processStart(pid: number): string | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (PROC) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return undefined;
    }
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, the fields after its last ")" do not
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    return fields[19];
  }
  try {
    return execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const alive = (p: ProcessId) => processStart(p.pid) === p.started;

/**
 * A durable record of the processes this instance started and the temp files they write, one small
 * JSON file per instance under DATA_DIR/run/audio, rewritten (temp + rename) on every change. An
 * instance killed with SIGKILL cannot stop its FFmpeg nor remove its `.tmp` files; the next instance
 * started on the same machine reads the state files of dead instances (`open`), kills the processes
 * still running under the recorded start time and removes the temp files at once.
 */
export class ProcessLedger {
  readonly dir: string;
  readonly logger: Logger;
  readonly host = hostname();
  readonly id = `${process.pid}-${randomBytes(4).toString('hex')}`;
  readonly #processes = new Map<number, ProcessId>();
  readonly #temp = new Set<string>();
  #self: ProcessId | undefined;
  #writable = false;

  constructor(dir: string, logger: Logger) {
    this.dir = dir;
    this.logger = logger;
  }

  get file(): string {
    return join(this.dir, `${this.id}.json`);
  }

  /** Reaps what dead instances of this machine left, then starts this instance's record. */
  open(): ReapReport {
    const report: ReapReport = { instances: 0, killed: [], removed: [] };
    const started = processStart(process.pid);
    try {
      mkdirSync(this.dir, { recursive: true });
    } catch (err) {
      this.logger.warn({ err, dir: this.dir }, 'the process ledger folder cannot be created: processes of this instance are not recorded');
      return report;
    }
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith('.json') || name === `${this.id}.json`) continue;
      const path = join(this.dir, name);
      let record: LedgerRecord;
      try {
        record = JSON.parse(readFileSync(path, 'utf8')) as LedgerRecord;
      } catch {
        continue; // being written (its .tmp is renamed in) or not ours
      }
      if (record.host !== this.host || alive(record.instance)) continue;
      report.instances++;
      for (const p of record.processes ?? []) {
        if (!alive(p)) continue;
        try {
          process.kill(p.pid, 'SIGKILL');
          report.killed.push(p.pid);
        } catch {
          // exited meanwhile
        }
      }
      for (const t of record.temp ?? []) {
        if (!existsSync(t)) continue;
        rmSync(t, { recursive: true, force: true });
        report.removed.push(t);
      }
      rmSync(path, { force: true });
    }
    // (a CLI command that exited without stopping leaves an empty record: nothing to say about it)
    if (report.killed.length || report.removed.length) this.logger.warn({ ...report }, 'killed the processes and removed the temp files of a dead instance');
    if (started) {
      this.#self = { pid: process.pid, started };
      this.#writable = true;
      this.#write();
    }
    return report;
  }

  /** Records a child process until the returned function is called (it exited). */
  track(pid: number | undefined): () => void {
    if (!pid || !this.#writable) return () => {};
    const started = processStart(pid);
    if (!started) return () => {};
    this.#processes.set(pid, { pid, started });
    this.#write();
    return () => {
      if (this.#processes.delete(pid)) this.#write();
    };
  }

  /** Records a temp file (or folder) until the returned function is called (it was moved in or removed). */
  temp(path: string): () => void {
    if (!this.#writable) return () => {};
    this.#temp.add(path);
    this.#write();
    return () => {
      if (this.#temp.delete(path)) this.#write();
    };
  }

  /** Graceful stop: the processes were stopped and their files removed; the record goes. */
  close(): void {
    this.#writable = false;
    rmSync(this.file, { force: true });
  }

  #write(): void {
    if (!this.#writable || !this.#self) return;
    const record: LedgerRecord = { host: this.host, instance: this.#self, processes: [...this.#processes.values()], temp: [...this.#temp] };
    const tmp = `${this.file}.tmp`;
    try {
      // synchronous: the record is on disk before the process it names writes anything
      writeFileSync(tmp, JSON.stringify(record));
      renameSync(tmp, this.file);
    } catch (err) {
      this.logger.warn({ err, file: this.file }, 'could not write the process ledger');
    }
  }
}
