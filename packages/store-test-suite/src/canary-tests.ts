import { inspect } from "node:util";
import { generateMasterKey, Secret, type SecretManager } from "@envkeep/core";
import { describe, expect, vi } from "vitest";
import type { StoreSuiteContext } from "./context.js";
import type { DefineTest } from "./define.js";

/** Every form in which a value could leak into a store or an output. */
function canaryForms(canary: string): string[] {
  const bytes = Buffer.from(canary);
  return [
    canary,
    bytes.toString("base64").replace(/=+$/, ""),
    bytes.toString("base64url"),
    bytes.toString("hex"),
    bytes.toString("hex").toUpperCase(),
    JSON.stringify(canary).slice(1, -1),
  ];
}

function expectNoCanary(text: string, canary: string, where: string) {
  for (const form of canaryForms(canary))
    expect(text.includes(form), `${where} leaked ${form.slice(0, 8)}…`).toBe(false);
}

async function captureError(work: () => unknown): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to fail");
}

/** A unique canary value goes through every API and failure path and shows up nowhere but the resolved env. */
export function defineCanaryTests(ctx: StoreSuiteContext, test: DefineTest): void {
  describe("never leak a value", () => {
    test("a canary value appears nowhere but the resolved env, and the store holds it in no form", async () => {
      const canary = `CANARY-${Math.random().toString(36).slice(2)}-${Date.now()}`;
      const outputs: string[] = [];
      const spies = [
        ...(["log", "info", "warn", "error", "debug", "trace"] as const).map((m) =>
          vi
            .spyOn(console, m)
            .mockImplementation((...args: unknown[]) => outputs.push(inspect(args))),
        ),
        vi
          .spyOn(process.stdout, "write")
          .mockImplementation((chunk: unknown) => outputs.push(String(chunk)) > 0),
        vi
          .spyOn(process.stderr, "write")
          .mockImplementation((chunk: unknown) => outputs.push(String(chunk)) > 0),
      ];
      const seen: unknown[] = [];
      let resolved: Record<string, string>;
      try {
        const secrets: SecretManager = ctx.manager({ actor: "canary-test" });
        seen.push(await secrets.create("canary", { TOKEN: canary, OTHER: "x" }));
        seen.push(await secrets.create("canary", { TOKEN: canary }, { ifExists: "skip" }));
        seen.push(await secrets.info("canary"));
        seen.push(await secrets.list());
        seen.push(await secrets.update("canary", { TOKEN: `${canary}-2` }));
        seen.push(await secrets.update("canary", { TOKEN: canary }));
        const named = secrets.fromName("canary", { requiredKeys: ["TOKEN"] });
        const ephemeral = Secret.fromObject({ EPH: canary });
        const dict = Secret.fromDict({ EPH: canary, DROP: null });
        seen.push(named, ephemeral, dict);
        await named.hydrate();
        seen.push(named, await named.info());
        resolved = await secrets.resolve([named, ephemeral, dict], { env: { EXTRA: canary } });
        seen.push(secrets);

        // Failure paths, each with the canary somewhere in its input.
        seen.push(await captureError(() => secrets.create("canary", { TOKEN: canary })));
        seen.push(await captureError(() => secrets.create("bad name", { TOKEN: canary })));
        seen.push(
          await captureError(() => secrets.create("long", { TOKEN: canary.repeat(5_000) })),
        );
        seen.push(
          await captureError(() => secrets.create("nonstring", { TOKEN: [canary] as never })),
        );
        seen.push(
          await captureError(() => secrets.update("canary", { TOKEN: canary }, { ifVersion: 1 })),
        );
        seen.push(await captureError(() => secrets.update("canary", { "BAD-KEY": canary })));
        seen.push(await captureError(() => secrets.update("missing", { TOKEN: canary })));
        seen.push(await captureError(() => Secret.fromObject({ TOKEN: canary, N: 1 as never })));
        seen.push(await captureError(() => secrets.resolve([], { env: { "BAD KEY": canary } })));
        seen.push(
          await captureError(() =>
            secrets.fromName("canary", { requiredKeys: ["NOPE"] }).hydrate(),
          ),
        );
        const stranger = ctx.manager({ masterKey: generateMasterKey() });
        seen.push(await captureError(() => stranger.resolve([stranger.fromName("canary")])));
        const record = await ctx.record("canary");
        await ctx.store().create({ ...record, name: "moved" });
        seen.push(await captureError(() => secrets.resolve([secrets.fromName("moved")])));
        seen.push(await secrets.rotate());
      } finally {
        for (const spy of spies) spy.mockRestore();
      }

      expect(resolved.TOKEN).toBe(canary);
      expect(resolved.EXTRA).toBe(canary);
      for (const [i, thing] of seen.entries()) {
        expectNoCanary(String(thing), canary, `String(#${i})`);
        expectNoCanary(JSON.stringify(thing) ?? "", canary, `JSON(#${i})`);
        expectNoCanary(
          inspect(thing, { depth: 10, showHidden: true, getters: true }),
          canary,
          `inspect(#${i})`,
        );
        if (thing instanceof Error) {
          expectNoCanary(
            `${thing.message}\n${thing.stack}\n${inspect(thing.cause, { depth: 10 })}`,
            canary,
            `error #${i}`,
          );
        }
      }
      expectNoCanary(outputs.join("\n"), canary, "console/stdout/stderr");
      if (ctx.options.readRaw) {
        const raw = await ctx.options.readRaw(ctx.store());
        expect(raw.length).toBeGreaterThan(0);
        expect(raw).toContain("TOKEN");
        expectNoCanary(raw, canary, "raw store contents");
      }
    });
  });
}
