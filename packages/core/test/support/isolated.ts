/**
 * Runs one exported function of a source module in a worker thread with a heap cap and a time
 * limit, so that a hostile input that loops forever or exhausts memory fails its test (as
 * "timed out" / "out of memory") instead of hanging or crashing the test runner.
 *
 * The module and the sources it imports relatively are transpiled (type stripping only) into a
 * temporary directory; bare imports (and `require` calls) resolve as they do for the module itself.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import ts from "typescript";

/** How an isolated call ended. `ms` is measured inside the worker, around the call alone. */
export type IsolatedOutcome =
  | { status: "returned"; value: unknown; ms: number }
  | { status: "threw"; error: { name: string; code: unknown; message: string }; ms: number }
  | { status: "timed out" | "out of memory" | "crashed"; detail: string };

export interface IsolatedLimits {
  /** Wall-clock limit of the whole call, worker start included. @default 10000 */
  timeoutMs?: number;
  /** Old-generation heap of the worker. @default 128 */
  maxHeapMb?: number;
}

const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)(["'])([^"']+)\2/g;

const BOOTSTRAP = `
import { parentPort, workerData } from "node:worker_threads";
const module = await import(workerData.moduleUrl);
const started = performance.now();
try {
  const value = module[workerData.exportName](...workerData.args);
  parentPort.postMessage({ status: "returned", value, ms: performance.now() - started });
} catch (error) {
  parentPort.postMessage({
    status: "threw",
    ms: performance.now() - started,
    error: { name: error?.constructor?.name ?? typeof error, code: error?.code, message: String(error?.message ?? error) },
  });
}
`;

async function transpileGraph(entry: string, sourceRoot: string, outRoot: string): Promise<void> {
  const require = createRequire(entry);
  const pending = [entry];
  const done = new Set<string>();
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (done.has(file)) continue;
    done.add(file);
    const { outputText } = ts.transpileModule(await readFile(file, "utf8"), {
      fileName: file,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
      },
    });
    const code = outputText.replace(
      SPECIFIER,
      (whole, lead: string, quote: string, spec: string) => {
        if (spec.startsWith(".")) {
          pending.push(path.resolve(path.dirname(file), spec.replace(/\.js$/, ".ts")));
          return whole;
        }
        if (spec.startsWith("node:")) return whole;
        // require() takes a path, import a URL.
        const resolved = require.resolve(spec);
        const target = lead.startsWith("require") ? resolved : pathToFileURL(resolved).href;
        return `${lead}${quote}${target}${quote}`;
      },
    );
    const target = path.join(outRoot, path.relative(sourceRoot, file)).replace(/\.ts$/, ".js");
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, code);
  }
}

/**
 * Prepares `exportName` of the TypeScript module `sourceFile` (under `sourceRoot`) for isolated
 * calls. Arguments and results cross the thread boundary by structured clone.
 */
export async function isolatedFunction(sourceFile: string, sourceRoot: string, exportName: string) {
  const outRoot = await mkdtemp(path.join(tmpdir(), "envkeep-isolated-"));
  await transpileGraph(sourceFile, sourceRoot, outRoot);
  const moduleUrl = pathToFileURL(
    path.join(outRoot, path.relative(sourceRoot, sourceFile)).replace(/\.ts$/, ".js"),
  ).href;
  const bootstrap = path.join(outRoot, "bootstrap.mjs");
  await writeFile(bootstrap, BOOTSTRAP);

  function call(args: readonly unknown[], limits: IsolatedLimits = {}): Promise<IsolatedOutcome> {
    const worker = new Worker(bootstrap, {
      workerData: { moduleUrl, exportName, args },
      resourceLimits: { maxOldGenerationSizeMb: limits.maxHeapMb ?? 128 },
      stdout: true,
      stderr: true,
    });
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        void worker.terminate();
        resolve({ status: "timed out", detail: `after ${limits.timeoutMs ?? 10_000} ms` });
      }, limits.timeoutMs ?? 10_000);
      const settle = (outcome: IsolatedOutcome) => {
        clearTimeout(timer);
        void worker.terminate();
        resolve(outcome);
      };
      worker.once("message", settle);
      worker.once("error", (error: NodeJS.ErrnoException) => {
        settle({
          status: error.code === "ERR_WORKER_OUT_OF_MEMORY" ? "out of memory" : "crashed",
          detail: String(error.message),
        });
      });
      worker.once("exit", (code) => settle({ status: "crashed", detail: `exit ${code}` }));
    });
  }

  return { call, dispose: () => rm(outRoot, { recursive: true, force: true }) };
}
