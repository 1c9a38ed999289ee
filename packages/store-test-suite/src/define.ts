import { it } from "vitest";
import type { StoreSuiteContext } from "./context.js";

/** Registers a suite test unless the store disabled it by title. */
export type DefineTest = (
  title: string,
  body: () => void | Promise<void>,
  timeoutMs?: number,
) => void;

export function testDefiner(context: StoreSuiteContext): DefineTest {
  const disabled = new Set(context.options.disableTests ?? []);
  return (title, body, timeoutMs) => {
    if (disabled.has(title)) it.skip(title, body);
    else it(title, body, timeoutMs);
  };
}
