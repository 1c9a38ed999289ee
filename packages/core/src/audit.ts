import { InvalidError } from "./errors.js";

/** What an audit event reports. */
export type AuditAction = "create" | "update" | "rollback" | "delete" | "rotate" | "read";

/**
 * One entry of the audit trail: who did what to which secret, when. Names only: never a value.
 *
 * @example
 * ```ts
 * { action: "update", workspace: "acme", environment: "prod", name: "db", version: 8,
 *   actor: "deploy-bot", at: new Date(), keys: ["PGHOST", "PGPASSWORD"] }
 * ```
 */
export interface AuditEvent {
  action: AuditAction;
  workspace: string;
  environment: string;
  name: string;
  /**
   * The version written (create, update, rollback, rotate), read (read) or deleted (delete, when
   * it could be read first).
   */
  version?: number;
  /** The manager's `actor` (the HTTP API: the token's id), when it has one. */
  actor?: string;
  /** When the write or read completed. */
  at: Date;
  /** Key names of that version, sorted (for a read: the keys whose values were read). */
  keys: string[];
}

/** Options of the audit trail, on `SecretManager`'s constructor. */
export interface AuditOptions {
  /**
   * Called after each successful write (create, update, rollback, delete, rotate), and after
   * each read of values when `auditReads` is set. Route it to your logger. An error it throws is
   * reported as a process warning and never undoes the write. @default undefined
   */
  onAudit?: (event: AuditEvent) => void;
  /** Also report each read of values (`resolve`, `run`, `spawn`, pinned reads). @default false */
  auditReads?: boolean;
}

/** What an event is about: a record's metadata (or as much of it as is known). */
export interface AuditSubject {
  workspace: string;
  environment: string;
  name: string;
  version?: number;
  keys?: readonly string[];
}

/** Sends audit events to the host's listener; a no-op without one. */
export class AuditTrail {
  readonly #listener: ((event: AuditEvent) => void) | undefined;
  readonly #reads: boolean;

  constructor(options: AuditOptions) {
    const { onAudit, auditReads } = options;
    if (onAudit !== undefined && typeof onAudit !== "function") {
      throw new InvalidError("invalid onAudit: expected a function");
    }
    if (auditReads !== undefined && typeof auditReads !== "boolean") {
      throw new InvalidError("invalid auditReads: expected true or false");
    }
    this.#listener = onAudit;
    this.#reads = auditReads === true && onAudit !== undefined;
  }

  /** True when anyone listens. */
  get enabled(): boolean {
    return this.#listener !== undefined;
  }

  /** True when reads of values are reported. */
  get reads(): boolean {
    return this.#reads;
  }

  /** Reports one event, built from names only. */
  emit(action: AuditAction, subject: AuditSubject, actor: string | undefined): void {
    const listener = this.#listener;
    if (!listener) return;
    if (action === "read" && !this.#reads) return;
    const event: AuditEvent = {
      action,
      workspace: subject.workspace,
      environment: subject.environment,
      name: subject.name,
      at: new Date(),
      keys: [...(subject.keys ?? [])],
    };
    if (subject.version !== undefined) event.version = subject.version;
    if (actor !== undefined) event.actor = actor;
    try {
      listener(event);
    } catch (error) {
      // The write stands; the host learns its listener failed (its message may hold anything, so
      // only its type is named).
      process.emitWarning(
        `envkeep: onAudit threw (${error instanceof Error ? error.name : typeof error}) for ${action} of secret "${subject.name}"`,
        "EnvkeepAuditWarning",
      );
    }
  }
}
