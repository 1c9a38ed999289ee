/**
 * What a store worker process runs, as source text: {@link WORKER_SOURCE} is its program, and
 * {@link typescriptHooksSource} the module hooks that let it import TypeScript sources.
 */

/** Prefix of every reply line a worker writes on stdout. */
export const REPLY = "@@envkeep-worker ";

/** Source of the worker process (ESM, run with `-e` from the store package's directory). */
export const WORKER_SOURCE = `
import { createInterface } from "node:readline";
const REPLY = ${JSON.stringify(REPLY)};
const config = JSON.parse(process.env.ENVKEEP_STORE_WORKER);
const send = (message) => process.stdout.write(REPLY + JSON.stringify(message) + "\\n");
/** Waits until the shared wall-clock instant \`startAt\`, spinning the last 2 ms for a tight start. */
const startTogether = async (startAt) => {
  if (typeof startAt !== "number") return;
  const wait = startAt - Date.now() - 2;
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  while (Date.now() < startAt) {}
};
/** Wall-clock time in ms, sub-millisecond: comparable between processes of one machine. */
const now = () => performance.timeOrigin + performance.now();
/** Runs \`writes\` once the race starts, and says when its first began and its last ended. */
const timed = async (startAt, writes) => {
  await startTogether(startAt);
  const first = now();
  const result = await writes();
  return { ...result, window: { first, last: now() } };
};
const outcome = (error) => (error && typeof error.code === "string" ? error.code : "ERROR: " + String(error && error.message));
try {
  const core = await import("@envkeep/core");
  const module = await import(config.storeModule);
  const factory = module[config.factoryName];
  if (typeof factory !== "function") throw new Error("no export " + config.factoryName + " in " + config.storeModule);
  const store = await factory(config.storeOptions);
  const keys = config.keyring ? { keyring: config.keyring } : { masterKey: config.masterKey };
  const manager = new core.SecretManager({
    store, ...keys, workspace: config.workspace, environment: config.environment,
  });
  await store.count({ workspace: config.workspace, environment: config.environment });
  const ops = {
    create: ({ names, startAt }) => timed(startAt, async () => {
      const outcomes = [];
      for (const name of names) {
        outcomes.push(await manager.create(name, { WINNER: String(config.index) }).then(() => "ok", outcome));
      }
      return { outcomes };
    }),
    update: ({ name, keys, startAt }) => timed(startAt, async () => {
      const outcomes = await Promise.all(keys.map((key) =>
        manager.update(name, { [key]: String(config.index) }).then(() => "ok", outcome)));
      return { outcomes };
    }),
    updateAndRead: ({ update, read, rounds, startAt }) => timed(startAt, async () => {
      const outcomes = [];
      for (let round = 0; round < rounds; round++) {
        outcomes.push(...await Promise.all([
          ...update.map((name) =>
            manager.update(name, { ["R" + round]: String(config.index) }).then(() => "ok", outcome)),
          ...read.map((name) => manager.resolve([manager.fromName(name)]).then(() => "ok", outcome)),
        ]));
      }
      return { outcomes };
    }),
    rotate: ({ startAt }) => timed(startAt, async () => {
      const { total, rewrapped, alreadyCurrent, failed } = await manager.rotate();
      return { report: { total, rewrapped, alreadyCurrent, failed: failed.map((f) => f.name + ": " + f.code) } };
    }),
    async loop({ id, names }) {
      const outcomes = [];
      for (const [index, name] of names.entries()) {
        try { await manager.create(name, { N: String(index) }); outcomes.push("ok"); send({ id, progress: index }); }
        catch (error) { outcomes.push(outcome(error)); }
      }
      return { outcomes };
    },
    async read({ names }) {
      const results = [];
      for (const name of names) {
        try {
          const info = await manager.info(name);
          const entries = await manager.resolve([manager.fromName(name)]);
          results.push({ entries, version: info.version });
        } catch (error) {
          if (error && error.code === "NOT_FOUND") results.push(null); else throw error;
        }
      }
      return { results };
    },
  };
  send({ id: 0, ready: true });
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const request = JSON.parse(line);
    if (request.op === "exit") { await manager.close(); send({ id: request.id }); break; }
    ops[request.op](request).then(
      (result) => send({ id: request.id, ...result }),
      (error) => send({ id: request.id, error: outcome(error) }),
    );
  }
  process.exit(0);
} catch (error) {
  send({ id: 0, error: outcome(error) + (error && error.cause ? " (cause: " + String(error.cause.message ?? error.cause) + ")" : "") });
  process.exit(1);
}
`;

/** Module hooks that let a worker import TypeScript sources (`.ts`, and `.js` specifiers of them). */
export function typescriptHooksSource(typescriptUrl: string): string {
  return `
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
const ts = (await import(${JSON.stringify(typescriptUrl)})).default;
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    const relative = /^(\\.|\\/|file:)/.test(specifier);
    if (relative && specifier.endsWith(".js") && context.parentURL?.endsWith(".ts")) {
      return next(specifier.slice(0, -3) + ".ts", context);
    }
    throw error;
  }
}
export async function load(url, context, next) {
  if (!/\\.m?ts$/.test(url) || !url.startsWith("file:")) return next(url, context);
  const fileName = fileURLToPath(url);
  const source = await readFile(fileName, "utf8");
  const { outputText } = ts.transpileModule(source, {
    fileName,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      verbatimModuleSyntax: true,
      inlineSourceMap: true,
    },
  });
  return { format: "module", source: outputText, shortCircuit: true };
}
`;
}

/** A `data:` URL that imports as the ES module `source`. */
export const dataUrl = (source: string) => `data:text/javascript,${encodeURIComponent(source)}`;
