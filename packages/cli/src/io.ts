import type { SecretInfo } from "@envkeep/core";
import { printable } from "./printable.js";

/** Thrown for bad command-line usage: printed as one line, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Writes `text` as one line on stdout (or `stream`), through {@link printable}: for every line that
 * quotes a name, key, environment, actor or message, which may have come from a store.
 */
export function writeLine(text: string, stream: NodeJS.WritableStream = process.stdout): void {
  stream.write(`${printable(text)}\n`);
}

/** `2026-01-02 03:04:05Z`: UTC, to the second. */
export function formatTime(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace("T", " ")}Z`;
}

function truncate(text: string, width: number): string {
  const chars = Array.from(text); // never cuts a surrogate pair in half
  return chars.length > width ? `${chars.slice(0, width - 1).join("")}…` : text;
}

/**
 * A plain text table: a header row, then one row per entry, columns padded to fit. Cells go
 * through {@link printable}: one cell can never break the table into forged rows.
 */
export function formatTable(
  header: readonly string[],
  cellsOfRows: readonly (readonly string[])[],
): string {
  const rows = cellsOfRows.map((cells) => cells.map(printable));
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) =>
        column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0),
      )
      .join("  ");
  return [line(header), ...rows.map(line)].join("\n");
}

/** The `secret list` table: name, keys, created, updated, version. Never values. */
export function formatSecretTable(infos: readonly SecretInfo[]): string {
  return formatTable(
    ["NAME", "KEYS", "CREATED", "UPDATED", "VERSION"],
    infos.map((info) => [
      info.name,
      truncate(printable(info.keys.join(", ")), 48),
      formatTime(info.createdAt),
      formatTime(info.updatedAt),
      String(info.version),
    ]),
  );
}

/** Labelled lines (`Name:  db`), values aligned and passed through {@link printable}. */
export function formatFields(fields: readonly (readonly [label: string, value: string])[]): string {
  const width = Math.max(...fields.map(([label]) => label.length));
  return fields
    .map(([label, value]) => `${`${label}:`.padEnd(width + 2)}${printable(value)}`)
    .join("\n");
}

/** Metadata as JSON (dates as ISO strings); print it with `toJson`. */
export function secretInfoJson(info: SecretInfo): Record<string, unknown> {
  return {
    name: info.name,
    environment: info.environment,
    workspace: info.workspace,
    secretId: info.secretId,
    keys: info.keys,
    version: info.version,
    createdAt: info.createdAt.toISOString(),
    updatedAt: info.updatedAt.toISOString(),
    ...(info.createdBy === undefined ? {} : { createdBy: info.createdBy }),
    ...(info.updatedBy === undefined ? {} : { updatedBy: info.updatedBy }),
  };
}

/** Reads all of standard input once, as UTF-8. */
export async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Strips one trailing newline (`\n` or `\r\n`), as a shell's `$(…)` would. */
export function stripOneNewline(text: string): string {
  if (text.endsWith("\r\n")) return text.slice(0, -2);
  if (text.endsWith("\n")) return text.slice(0, -1);
  return text;
}

/** On a terminal: prompts on stderr and reads one line without echoing it. */
export function readHiddenLine(prompt: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let value = "";
    const finish = (error?: Error) => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === "\r" || char === "\n" || char === "\u0004") return finish();
        if (char === "\u0003") return finish(new UsageError("cancelled"));
        if (char === "\u007f" || char === "\b") value = value.slice(0, -1);
        else value += char;
      }
    };
    // Echo goes off before the prompt shows, so nothing typed after it can ever be echoed.
    stdin.setEncoding("utf8");
    stdin.setRawMode(true);
    stdin.on("data", onData);
    stdin.resume();
    process.stderr.write(prompt);
  });
}

/** Asks a yes/no question on stderr; only "y" or "yes" is a yes. */
export async function confirm(question: string): Promise<boolean> {
  // Loaded here: readline (and the streams under it) is for this question only.
  const { createInterface } = await import("node:readline");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.question(`${question} [y/N] `, resolve);
      rl.once("close", () => resolve(""));
    });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** A one-line progress bar on stderr (only used on a terminal). */
export function progressBar(): {
  update(done: number, total: number, label: string): void;
  end(): void;
} {
  const width = 30;
  let drawn = false;
  return {
    update(done, total, label) {
      const ratio = total === 0 ? 1 : Math.min(1, done / total);
      const filled = Math.round(ratio * width);
      const bar = `${"#".repeat(filled)}${"-".repeat(width - filled)}`;
      const columns = process.stderr.columns || 80;
      const text = truncate(`[${bar}] ${done}/${total} ${printable(label)}`, columns - 1);
      process.stderr.write(`\r\x1b[2K${text}`);
      drawn = true;
    },
    end() {
      if (drawn) process.stderr.write("\n");
    },
  };
}
