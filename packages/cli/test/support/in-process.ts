/**
 * Runs the CLI in this process through the exported `main(argv)`, capturing what it writes: fast
 * enough for hundreds of runs (no process start, no build).
 */
import { Readable } from "node:stream";
import { vi } from "vitest";
import { main } from "../../src/main.js";

export interface MainResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface MainOptions {
  /** Variables set for the run (`undefined` unsets one); restored after. */
  env?: Record<string, string | undefined>;
  /** What standard input holds (never a terminal). @default "" */
  stdin?: string;
}

function capture(stream: NodeJS.WriteStream): { text: () => string; restore: () => void } {
  let text = "";
  const spy = vi.spyOn(stream, "write").mockImplementation((chunk: unknown, ...rest: unknown[]) => {
    text += typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8");
    const callback = rest.find((arg) => typeof arg === "function") as (() => void) | undefined;
    callback?.();
    return true;
  });
  return { text: () => text, restore: () => spy.mockRestore() };
}

/** `main(argv)` with stdout, stderr, stdin and the given variables replaced for the run. */
export async function runMain(
  argv: readonly string[],
  options: MainOptions = {},
): Promise<MainResult> {
  const saved = new Map<string, string | undefined>();
  for (const [key, value] of Object.entries(options.env ?? {})) {
    saved.set(key, process.env[key]);
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  const stdin = vi
    .spyOn(process, "stdin", "get")
    .mockReturnValue(
      Readable.from([Buffer.from(options.stdin ?? "")]) as unknown as typeof process.stdin,
    );
  const stdout = capture(process.stdout);
  const stderr = capture(process.stderr);
  try {
    const code = await main(argv);
    return { code, stdout: stdout.text(), stderr: stderr.text() };
  } finally {
    stdout.restore();
    stderr.restore();
    stdin.mockRestore();
    process.exitCode = undefined; // main leaves the command's code there; the test runner must not see it
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}
