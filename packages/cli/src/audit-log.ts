/**
 * The audit log of `envkeep serve`: each audit event of core (`SecretManager`'s `onAudit`) as one
 * JSON line on stderr, beside the access log. Names only: the line is built field by field from
 * the event, so nothing but the documented fields (key names, never values) can reach it.
 */
import type { AuditEvent } from "@envkeep/core";
import { writeLine } from "./io.js";
import { toJson } from "./printable.js";

/**
 * One event as one line of JSON (no newline): `at` (ISO 8601), `action`, `workspace`,
 * `environment`, `name`, `version` (when known), `actor` (when known), `keys`. Characters a
 * terminal would act on are `\u` escapes.
 *
 * @example
 * ```ts
 * formatAuditLine(event);
 * // {"at":"2026-01-02T03:04:05.678Z","action":"update","workspace":"default","environment":"prod","name":"db","version":8,"actor":"0123456789abcdef","keys":["PGHOST","PGPASSWORD"]}
 * ```
 */
export function formatAuditLine(event: AuditEvent): string {
  return toJson(
    {
      at: event.at.toISOString(),
      action: event.action,
      workspace: event.workspace,
      environment: event.environment,
      name: event.name,
      ...(event.version === undefined ? {} : { version: event.version }),
      ...(event.actor === undefined ? {} : { actor: event.actor }),
      keys: [...event.keys],
    },
    0,
  );
}

/** An `onAudit` listener that writes each event as one line on `stream`. */
export function auditLogTo(stream: NodeJS.WritableStream): (event: AuditEvent) => void {
  return (event) => writeLine(formatAuditLine(event), stream);
}
