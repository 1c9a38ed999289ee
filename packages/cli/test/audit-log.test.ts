/** The audit log line of `envkeep serve` (in-process): one JSON line, the event's fields only. */
import type { AuditEvent } from "@envkeep/core";
import { describe, expect, it } from "vitest";
import { formatAuditLine } from "../src/audit-log.js";

const event: AuditEvent = {
  action: "update",
  workspace: "acme",
  environment: "prod",
  name: "db",
  version: 8,
  actor: "0123456789abcdef",
  at: new Date("2026-01-02T03:04:05.678Z"),
  keys: ["PGHOST", "PGPASSWORD"],
};

describe("formatAuditLine", () => {
  it("is one line of JSON holding the event's fields, `at` as ISO 8601", () => {
    const line = formatAuditLine(event);
    expect(line).not.toContain("\n");
    expect(line).toBe(
      '{"at":"2026-01-02T03:04:05.678Z","action":"update","workspace":"acme","environment":"prod","name":"db","version":8,"actor":"0123456789abcdef","keys":["PGHOST","PGPASSWORD"]}',
    );
  });

  it("leaves out what the event does not know", () => {
    const { version: _version, actor: _actor, ...bare } = event;
    expect(JSON.parse(formatAuditLine({ ...bare, action: "delete", keys: [] }))).toEqual({
      at: "2026-01-02T03:04:05.678Z",
      action: "delete",
      workspace: "acme",
      environment: "prod",
      name: "db",
      keys: [],
    });
  });

  it("writes only the documented fields: anything else on the object never reaches the log", () => {
    const extra = { ...event, value: "sk-live-canary", entries: { PGPASSWORD: "sk-live-canary" } };
    expect(formatAuditLine(extra as AuditEvent)).not.toContain("canary");
  });

  it("an actor cannot forge a line or move the terminal: control and bidi characters are escapes", () => {
    const line = formatAuditLine({ ...event, actor: 'x"}\n{"action":"delete\u202e\u001b[2J' });
    for (const raw of ["\n", "\u202e", "\u001b"]) expect(line).not.toContain(raw);
    expect(JSON.parse(line).actor).toBe('x"}\n{"action":"delete\u202e\u001b[2J');
  });
});
