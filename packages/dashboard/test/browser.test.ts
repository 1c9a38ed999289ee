/**
 * The dashboard in a real browser (Debian's Chromium, driven by playwright-core) against a real
 * `envkeep serve` on a SQLite file: sign in, create from a template and from .env text, edit
 * (with a conflict from another writer), delete, a secret's history and a rollback (with a
 * conflict too), a read-only token, markup in every field shown as text, keyboard use, phone
 * width — and a canary value that, once typed into the page, never comes back in any response,
 * page or DOM.
 */
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { generateMasterKey, SecretManager } from "@envkeep/core";
import { sqliteStore } from "@envkeep/store-sqlite";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../../cli/test/support/cli.js";
import {
  createToken,
  ensureBuilt,
  envkeep,
  type RunningServe,
  startServe,
} from "../../cli/test/support/serve.js";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium && process.env.CI) {
  throw new Error(`CI is set, so not skipping: ${CHROMIUM} is missing (apt-get install chromium)`);
}

/** Screenshots of the main pages land here (kept out of git). */
const OUTPUT = path.join(import.meta.dirname, "output");
const CANARY = "pw-canary-7f3e9a1c-d0d4";
const MARKUP = `<img src=x onerror="window.pwned=1">"'&`;

const work = tempDir("dashboard");
const file = path.join(work.dir, "secrets.db");
const env = {
  ENVKEEP_MASTER_KEY: generateMasterKey(),
  ENVKEEP_STORE: `sqlite:${file}`,
  ENVKEEP_ACTOR: "ops-team",
};
let server: RunningServe;
let chromiumBrowser: Browser;
let writer: string;
let writerId: string;
let reader: string;
/** Every response body the browser received, for the canary check. */
const seen: string[] = [];
/** Errors thrown by the page's script: there must be none. */
const pageErrors: string[] = [];

/** The secrets, read in-process (not over HTTP), to check what was really stored. */
async function stored(name: string, environment = "main") {
  const manager = new SecretManager({
    store: sqliteStore({ path: file }),
    masterKey: env.ENVKEEP_MASTER_KEY,
  });
  try {
    return await manager.resolve([manager.fromName(name, { environment })]);
  } finally {
    await manager.close();
  }
}

async function newPage(
  size: { width: number; height: number } = { width: 1280, height: 800 },
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await chromiumBrowser.newContext({ viewport: size });
  await context.addInitScript(() => {
    (globalThis as unknown as { browser: () => unknown }).browser = () => globalThis;
  });
  const page = await context.newPage();
  page.on("response", async (response) => {
    try {
      seen.push(await response.text());
    } catch {
      // a redirect or an aborted load has no body
    }
  });
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  await page.goto(`${server.url}/`);
  return { context, page };
}

/**
 * The page's globals, as the callbacks of `page.evaluate` (which run in the page, where this name
 * is defined by an init script) see them; typed here without the DOM library.
 */
declare function browser(): {
  sessionStorage: { length: number };
  document: { cookie: string; documentElement: { scrollWidth: number } };
  pwned?: number;
  fetch: typeof fetch;
};

async function signIn(page: Page, token: string) {
  await page.getByLabel("Access token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
}

describe.skipIf(!hasChromium)("the dashboard in Chromium", () => {
  beforeAll(async () => {
    await ensureBuilt();
    mkdirSync(OUTPUT, { recursive: true });
    ({ token: writer, id: writerId } = await createToken(env, [
      "--name",
      "admin-ui",
      "--scope",
      "write",
    ]));
    reader = (await createToken(env, ["--name", "viewer", "--scope", "read"])).token;
    server = await startServe({ env, cwd: work.dir });
    chromiumBrowser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  }, 180_000);

  afterAll(async () => {
    await chromiumBrowser?.close();
    await server?.stop();
    work.remove();
  });

  it("a wrong token is refused; a write token signs in, by keyboard alone", async () => {
    const { context, page } = await newPage();
    await signIn(page, "ekt_0000000000000000_notatokennotatokennotatokennotatokennot");
    await expect.poll(() => page.locator("#token-error").textContent()).toMatch(/not accepted/);
    await page.getByLabel("Access token").fill(writer);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Secrets" }).waitFor();
    expect(await page.locator("#who").textContent()).toBe("admin-ui (write)");
    expect(await page.evaluate(() => browser().sessionStorage.length)).toBe(1);
    expect(await page.evaluate(() => browser().document.cookie)).toBe("");
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    expect(await page.evaluate(() => browser().sessionStorage.length)).toBe(0);
    await context.close();
  });

  it("creates from the Postgres template; values go in, never come back", async () => {
    const { context, page } = await newPage();
    await signIn(page, writer);
    await page.getByRole("button", { name: "New secret" }).click();
    await page.getByLabel("Name", { exact: true }).fill("db");
    await page.getByLabel("A template").check();
    await page.getByLabel("Template", { exact: true }).selectOption("postgres");
    for (const [key, value] of [
      ["PGHOST", "db.internal"],
      ["PGPORT", "5432"],
      ["PGUSER", "app"],
      ["PGPASSWORD", CANARY],
      ["PGDATABASE", "main"],
    ]) {
      await page.getByLabel(`Value of ${key}`).fill(value as string);
    }
    await page.getByRole("button", { name: "Create secret" }).click();
    await page.getByRole("cell", { name: "db", exact: true }).waitFor();
    expect(await page.locator("#secrets").textContent()).toContain(
      "PGDATABASE, PGHOST, PGPASSWORD, PGPORT, PGUSER",
    );
    expect((await stored("db")).PGPASSWORD).toBe(CANARY);
    await page.screenshot({ path: path.join(OUTPUT, "list-desktop.png"), fullPage: true });
    await context.close();
  });

  it("checks input as core does, with the error beside the field; nothing is sent", async () => {
    const { context, page } = await newPage();
    await signIn(page, writer);
    await page.getByRole("button", { name: "New secret" }).click();
    await page.getByLabel("Name", { exact: true }).fill("bad name!");
    await page.getByRole("button", { name: "Create secret" }).click();
    expect(await page.locator("#secret-name-error").textContent()).toMatch(/may hold only/);
    await page.getByLabel("Name", { exact: true }).fill("ok-name");
    await page.getByLabel("Key 1", { exact: true }).fill("1BAD-KEY");
    await page.getByRole("button", { name: "Create secret" }).click();
    expect(await page.locator("#row-key-0-error").textContent()).toMatch(/may hold only/);
    await page.screenshot({ path: path.join(OUTPUT, "create-desktop.png"), fullPage: true });
    await context.close();
    await expect(stored("ok-name")).rejects.toThrow(/not found/);
  });

  it("creates from pasted .env text, read by core's rules", async () => {
    const { context, page } = await newPage();
    await signIn(page, writer);
    await page.getByRole("button", { name: "New secret" }).click();
    await page.getByLabel("Name", { exact: true }).fill("from-dotenv");
    await page.getByLabel("A pasted .env file").check();
    await page.getByLabel(".env text").fill("HOST=db\nURL=postgres://${HOST}/app\n");
    await page.getByRole("button", { name: "Create secret" }).click();
    await page.getByRole("cell", { name: "from-dotenv", exact: true }).waitFor();
    expect(await stored("from-dotenv")).toEqual({ HOST: "db", URL: "postgres://db/app" });
    // A line .env cannot read is reported with its number, next to the text.
    await page.getByRole("button", { name: "New secret" }).click();
    await page.getByLabel("Name", { exact: true }).fill("broken");
    await page.getByLabel("A pasted .env file").check();
    await page.getByLabel(".env text").fill("A=1\nnot a line\n");
    await page.getByRole("button", { name: "Create secret" }).click();
    await expect.poll(() => page.locator("#dotenv-error").textContent()).toMatch(/line 2/);
    await context.close();
  });

  it("edits without ever showing a value; a change made in another tab meanwhile is a conflict", async () => {
    const { context, page } = await newPage();
    await signIn(page, writer);
    await page.getByRole("button", { name: "Edit db" }).click();
    // Existing keys say that a value is set; the value itself is nowhere in the page.
    const password = page.getByLabel("Value of PGPASSWORD");
    expect(await password.inputValue()).toBe("");
    expect(await password.getAttribute("placeholder")).toBe("value set: type to replace");
    expect(await page.content()).not.toContain(CANARY);
    // Another tab (its own browser context) changes the secret while this page has it open.
    const other = await newPage();
    await signIn(other.page, writer);
    await other.page.getByRole("button", { name: "Edit db" }).click();
    await other.page.getByLabel("Value of PGPORT").fill("6543");
    await other.page.getByRole("button", { name: "Save changes" }).click();
    await expect.poll(() => other.page.locator("#notice").textContent()).toBe("Saved db.");
    await other.context.close();
    await page.getByLabel("Value of PGUSER").fill("someone-else");
    await page.getByRole("button", { name: "Save changes" }).click();
    await expect.poll(() => page.locator("#form-error").textContent()).toMatch(/changed elsewhere/);
    expect((await stored("db")).PGUSER).toBe("app");
    // Open it again: the new version saves, adding, replacing and removing keys.
    await page.getByRole("button", { name: "Cancel" }).click();
    await page.reload();
    await page.getByRole("button", { name: "Edit db" }).click();
    await page.getByLabel("Value of PGUSER").fill("app2");
    await page.getByLabel("Remove PGDATABASE").check();
    await page.getByRole("button", { name: "Add a key" }).click();
    await page.getByLabel("Key 6", { exact: true }).fill("PGSSLMODE");
    await page.getByLabel("Value 6", { exact: true }).fill("require");
    await page.getByRole("button", { name: "Save changes" }).click();
    await expect.poll(() => page.locator("#notice").textContent()).toBe("Saved db.");
    expect(await stored("db")).toEqual({
      PGHOST: "db.internal",
      PGPORT: "6543",
      PGUSER: "app2",
      PGPASSWORD: CANARY,
      PGSSLMODE: "require",
    });
    await context.close();
  });

  it("deletes only after the name is typed", async () => {
    await envkeep(["secret", "create", "doomed", "A=1"], { env });
    const { context, page } = await newPage();
    await signIn(page, writer);
    await page.getByRole("button", { name: "Delete doomed" }).click();
    const go = page.getByRole("button", { name: "Delete", exact: true });
    expect(await go.isDisabled()).toBe(true);
    await page.getByLabel("Secret name").fill("doome");
    expect(await go.isDisabled()).toBe(true);
    await page.getByLabel("Secret name").fill("doomed");
    await go.click();
    await expect.poll(() => page.locator("#notice").textContent()).toBe("Deleted doomed.");
    await expect(stored("doomed")).rejects.toThrow(/not found/);
    await context.close();
  });

  it("history: create, update twice, see 3 versions by key name (never a value), roll back to 1, see version 4", async () => {
    const { context, page } = await newPage();
    await signIn(page, writer);
    // Version 1: API_KEY and REGION.
    await page.getByRole("button", { name: "New secret" }).click();
    await page.getByLabel("Name", { exact: true }).fill("hist");
    await page.getByLabel("Key 1", { exact: true }).fill("API_KEY");
    await page.getByLabel("Value 1", { exact: true }).fill(`${CANARY}-one`);
    await page.getByRole("button", { name: "Add a key" }).click();
    await page.getByLabel("Key 2", { exact: true }).fill("REGION");
    await page.getByLabel("Value 2", { exact: true }).fill(`${CANARY}-region`);
    await page.getByRole("button", { name: "Create secret" }).click();
    await page.getByRole("cell", { name: "hist", exact: true }).waitFor();
    // Version 2: API_KEY replaced, DEBUG added.
    await page.getByRole("button", { name: "Edit hist" }).click();
    await page.getByLabel("Value of API_KEY").fill(`${CANARY}-two`);
    await page.getByRole("button", { name: "Add a key" }).click();
    await page.getByLabel("Key 3", { exact: true }).fill("DEBUG");
    await page.getByLabel("Value 3", { exact: true }).fill(`${CANARY}-debug`);
    await page.getByRole("button", { name: "Save changes" }).click();
    await expect.poll(() => page.locator("#notice").textContent()).toBe("Saved hist.");
    // Version 3: REGION removed.
    await page.getByRole("button", { name: "Edit hist" }).click();
    await page.getByLabel("Remove REGION").check();
    await page.getByRole("button", { name: "Save changes" }).click();
    await expect.poll(() => page.locator("#notice").textContent()).toBe("Saved hist.");

    await page.getByRole("button", { name: "History of hist" }).click();
    await page.getByRole("heading", { name: "History of hist" }).waitFor();
    const rows = page.locator("#versions tbody tr");
    /** The first five cells of each row, as shown (a change's lines one per line). */
    const cells = async () => {
      const shown: string[][] = [];
      for (let i = 0; i < (await rows.count()); i++) {
        shown.push((await rows.nth(i).locator("td").allInnerTexts()).slice(0, 5));
      }
      return shown;
    };
    const time = expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\dZ$/);
    expect(await cells()).toEqual([
      ["3 (current)", time, writerId, "API_KEY, DEBUG", "Removed: REGION"],
      ["2", time, writerId, "API_KEY, DEBUG, REGION", "Added: DEBUG\nChanged: API_KEY"],
      ["1", time, writerId, "API_KEY, REGION", "Added: API_KEY, REGION"],
    ]);
    // Values are nowhere in the view, nor in the page.
    expect(await page.locator("#history-view").textContent()).not.toContain(CANARY);
    expect(await page.content()).not.toContain(CANARY);
    // The current version has nothing to roll back to; the others do.
    expect(await page.getByRole("button", { name: /^Roll back hist to version/ }).count()).toBe(2);
    await page.screenshot({ path: path.join(OUTPUT, "history-desktop.png"), fullPage: true });

    await page.getByRole("button", { name: "Roll back hist to version 1" }).click();
    const dialog = page.getByRole("dialog", { name: "Roll back hist to version 1" });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain("as a new version, 4");
    expect(await page.locator("#rollback-keys").textContent()).toBe(
      "Keys of version 1: API_KEY, REGION",
    );
    await dialog.getByRole("button", { name: "Roll back", exact: true }).click();
    await expect
      .poll(() => page.locator("#notice").textContent())
      .toBe("Rolled back hist to version 1: it is now version 4.");
    expect(await dialog.isVisible()).toBe(false);
    expect((await cells())[0]).toEqual([
      "4 (current)",
      time,
      writerId,
      "API_KEY, REGION",
      "Added: REGION\nChanged: API_KEY\nRemoved: DEBUG",
    ]);
    expect(await rows.count()).toBe(4);
    expect(await stored("hist")).toEqual({ API_KEY: `${CANARY}-one`, REGION: `${CANARY}-region` });
    expect(await page.content()).not.toContain(CANARY);
    await page.getByRole("button", { name: "Back to secrets" }).click();
    await page.getByRole("heading", { name: "Secrets" }).waitFor();
    await context.close();
  });

  it("a rollback that meets a change made meanwhile is a conflict (412), shown; nothing changes", async () => {
    const { context, page } = await newPage();
    await signIn(page, writer);
    await page.getByRole("button", { name: "History of hist" }).click();
    await page.getByRole("heading", { name: "History of hist" }).waitFor();
    expect(await page.locator("#versions tbody tr").first().textContent()).toContain("4 (current)");
    // Another writer changes the secret while the history is open.
    const meanwhile = await envkeep(["secret", "update", "hist", "DEBUG=-"], {
      env,
      input: `${CANARY}-meanwhile`,
    });
    expect(meanwhile.code).toBe(0);
    await page.getByRole("button", { name: "Roll back hist to version 2" }).click();
    await page.getByRole("button", { name: "Roll back", exact: true }).click();
    await expect
      .poll(() => page.locator("#rollback-error").textContent())
      .toMatch(
        /^hist was changed elsewhere after this history was loaded \(it is no longer version 4\): nothing was rolled back\./,
      );
    expect(await page.getByRole("button", { name: "Roll back", exact: true }).isDisabled()).toBe(
      true,
    );
    expect(await stored("hist")).toEqual({
      API_KEY: `${CANARY}-one`,
      REGION: `${CANARY}-region`,
      DEBUG: `${CANARY}-meanwhile`,
    });
    // Behind the dialog the history now shows the change made meanwhile.
    await page.getByRole("button", { name: "Cancel" }).click();
    await expect
      .poll(() => page.locator("#versions tbody tr").first().textContent())
      .toContain("5 (current)");
    expect(await page.locator("#versions tbody tr").first().textContent()).toContain("ops-team");
    expect(await page.content()).not.toContain(CANARY);
    await context.close();
  });

  it("a read-only token sees no write controls, and the API refuses its writes anyway", async () => {
    const { context, page } = await newPage();
    await signIn(page, reader);
    await page.getByRole("heading", { name: "Secrets" }).waitFor();
    expect(await page.getByRole("button", { name: "New secret" }).isVisible()).toBe(false);
    expect(await page.getByRole("button", { name: /^Edit / }).count()).toBe(0);
    expect(await page.getByRole("button", { name: /^Delete / }).count()).toBe(0);
    // It may read a secret's history, but sees no rollback.
    await page.getByRole("button", { name: "History of db" }).click();
    await page.getByRole("heading", { name: "History of db" }).waitFor();
    expect(await page.locator("#versions tbody tr").count()).toBeGreaterThan(1);
    expect(await page.getByRole("button", { name: /^Roll back/ }).count()).toBe(0);
    expect(await page.getByRole("columnheader", { name: "Actions" }).isVisible()).toBe(false);
    const status = await page.evaluate(async (token) => {
      const response = await browser().fetch("v1/secrets", {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ name: "sneaky", env: { A: "1" } }),
      });
      return response.status;
    }, reader);
    expect(status).toBe(403);
    await context.close();
  });

  it("markup in any field from the store is shown as text, never run", async () => {
    // Names, keys and environments cannot hold markup (core refuses them); an actor can.
    const marked = await envkeep(["secret", "create", "marked", "A=1"], {
      env: { ...env, ENVKEEP_ACTOR: MARKUP },
    });
    expect(marked.code).toBe(0);
    const { context, page } = await newPage();
    await signIn(page, writer);
    await page.getByRole("cell", { name: "marked", exact: true }).waitFor();
    expect(await page.locator("#secrets").textContent()).toContain(MARKUP);
    expect(await page.locator("#secrets img").count()).toBe(0);
    await page.getByRole("button", { name: "History of marked" }).click();
    await page.getByRole("heading", { name: "History of marked" }).waitFor();
    expect(await page.locator("#versions").textContent()).toContain(MARKUP);
    expect(await page.locator("#versions img").count()).toBe(0);
    expect(await page.evaluate(() => browser().pwned)).toBe(undefined);
    await context.close();
  });

  it("reads at phone width: one card per secret, every control reachable", async () => {
    const { context, page } = await newPage({ width: 390, height: 844 });
    await signIn(page, writer);
    // Each cell is labelled by its column here ("Name: db"), as a screen reader reads it too.
    await page.getByRole("cell", { name: "Name: db", exact: true }).waitFor();
    const width = await page.evaluate(() => browser().document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(390);
    expect(await page.getByRole("button", { name: "New secret" }).isVisible()).toBe(true);
    await page.screenshot({ path: path.join(OUTPUT, "list-phone.png"), fullPage: true });
    // A secret's history: one card per version too.
    await page.getByRole("button", { name: "History of hist" }).click();
    await page.getByRole("cell", { name: "Version: 5 (current)", exact: true }).waitFor();
    expect(
      await page.evaluate(() => browser().document.documentElement.scrollWidth),
    ).toBeLessThanOrEqual(390);
    expect(
      await page.getByRole("button", { name: "Roll back hist to version 4" }).isVisible(),
    ).toBe(true);
    await page.screenshot({ path: path.join(OUTPUT, "history-phone.png"), fullPage: true });
    await context.close();
  });

  it("the canary typed into the page never came back: no response, page or DOM holds it", async () => {
    const { context, page } = await newPage();
    await signIn(page, writer);
    await page.getByRole("cell", { name: "db", exact: true }).waitFor();
    await page.getByRole("button", { name: "Edit db" }).click();
    expect(await page.content()).not.toContain(CANARY);
    await context.close();
    expect(seen.length).toBeGreaterThan(20);
    for (const body of seen) expect(body).not.toContain(CANARY);
    expect(server.stderr()).not.toContain(CANARY);
    expect(pageErrors).toEqual([]);
  });
});
