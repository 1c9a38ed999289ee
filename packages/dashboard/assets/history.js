// @ts-check
/**
 * A secret's history: its kept versions, newest first, each with its number, time, author and
 * the keys it added, changed and removed (names only: the API never returns a value), and a
 * rollback to one of them (`POST v1/secrets/{name}/rollback`), confirmed in a dialog and sent
 * with `If-Match` of the version shown as current, so that a change made meanwhile is reported
 * (412), never overwritten.
 */
import { api, guarded } from "./api-client.js";
import { $, actionButton, fieldError, labelledCell, notice, shortTime, show } from "./page.js";

/**
 * @typedef {import("./api-client.js").VersionJson} VersionJson
 * @typedef {import("./api-client.js").ChangeJson} ChangeJson
 * @typedef {import("./api-client.js").SecretJson} SecretJson
 * @typedef {{ environment: () => string, canWrite: () => boolean, backToList: () => Promise<void> }} HistoryHost
 */

/** @type {HistoryHost} */
let host = {
  environment: () => "",
  canWrite: () => false,
  backToList: async () => {},
};

const shown = {
  name: "",
  environment: "",
  /** @type {VersionJson[]} */ versions: [],
  /** The version the rollback dialog would restore. @type {number | undefined} */ target:
    undefined,
};

/** The version shown as current (the newest), if any. */
function current() {
  return shown.versions[0]?.version;
}

/** @param {string} name @param {string} environment */
async function fetchVersions(name, environment) {
  const page = /** @type {{ data: VersionJson[] }} */ (
    await api("GET", `secrets/${encodeURIComponent(name)}/versions`, { query: { environment } })
  );
  return page.data;
}

/**
 * The change of a version as lines of key names ("Added: A, B"), or why it is not known.
 * @param {ChangeJson | undefined} change
 * @returns {[kind: string, text: string][]}
 */
function describeChange(change) {
  if (!change) return [["unknown", "Not known: the version before it is no longer kept"]];
  /** @type {[kind: string, text: string][]} */
  const lines = [];
  if (change.added.length > 0) lines.push(["added", `Added: ${change.added.join(", ")}`]);
  if (change.changed.length > 0) lines.push(["changed", `Changed: ${change.changed.join(", ")}`]);
  if (change.removed.length > 0) lines.push(["removed", `Removed: ${change.removed.join(", ")}`]);
  return lines.length > 0 ? lines : [["none", "No key changed"]];
}

function render() {
  $("history-title").textContent = `History of ${shown.name}`;
  $("history-where").textContent =
    `Environment ${shown.environment}: the versions kept, newest first. Values are never shown; each version lists the keys it added, changed and removed.`;
  const body = /** @type {HTMLTableElement} */ ($("versions")).tBodies[0];
  if (!body) return;
  body.replaceChildren();
  const latest = current();
  for (const version of shown.versions) {
    const row = body.insertRow();
    row.dataset.version = String(version.version);
    /** @param {string} label @param {string} text @param {string} [className] */
    const cell = (label, text, className) => labelledCell(row, label, text, className);
    cell(
      "Version",
      version.version === latest ? `${version.version} (current)` : String(version.version),
    );
    cell("Updated", shortTime(version.updated_at));
    cell("By", version.updated_by ?? "");
    cell("Keys", version.keys.join(", "), "keys");
    const change = cell("Change", "", "change");
    for (const [kind, text] of describeChange(version.change)) {
      const line = document.createElement("span");
      line.className = `change-${kind}`;
      line.textContent = text;
      change.append(line);
    }
    const actions = cell("Actions", "", "actions-cell write");
    if (host.canWrite() && version.version !== latest) {
      actions.append(
        actionButton(
          `Roll back ${shown.name} to version ${version.version}`,
          `Roll back to ${version.version}`,
          () => openRollback(version),
        ),
      );
    }
  }
}

/** Reads the versions again and shows them. */
async function reload() {
  shown.versions = await fetchVersions(shown.name, shown.environment);
  render();
}

/**
 * Shows the history of `secret` (of the environment picked now). A failure to read it is
 * reported on the list.
 * @param {SecretJson} secret
 */
export async function openHistory(secret) {
  const environment = host.environment();
  await guarded(
    async () => {
      const versions = await fetchVersions(secret.name, environment);
      Object.assign(shown, { name: secret.name, environment, versions, target: undefined });
      fieldError("history-error", "");
      notice("");
      render();
      show("history-view");
      $("history-title").focus();
    },
    (error) => notice(error.message),
  );
}

/** @param {VersionJson} version */
function openRollback(version) {
  const dialog = /** @type {HTMLDialogElement} */ ($("rollback-dialog"));
  const latest = current() ?? 0;
  shown.target = version.version;
  $("rollback-title").textContent = `Roll back ${shown.name} to version ${version.version}`;
  $("rollback-summary").textContent =
    `This writes the keys and values of version ${version.version} as a new version, ${latest + 1}. The current version, ${latest}, stays in the history.`;
  $("rollback-keys").textContent =
    `Keys of version ${version.version}: ${version.keys.join(", ") || "(none)"}`;
  fieldError("rollback-error", "");
  /** @type {HTMLButtonElement} */ ($("rollback-go")).disabled = false;
  dialog.showModal();
}

async function confirmRollback() {
  const dialog = /** @type {HTMLDialogElement} */ ($("rollback-dialog"));
  const { name, environment, target } = shown;
  const latest = current();
  if (target === undefined || latest === undefined) return;
  const go = /** @type {HTMLButtonElement} */ ($("rollback-go"));
  go.disabled = true;
  await guarded(
    async () => {
      const info = /** @type {SecretJson} */ (
        await api("POST", `secrets/${encodeURIComponent(name)}/rollback`, {
          query: { environment },
          body: { version: target },
          headers: { "If-Match": `"${latest}"` },
        })
      );
      dialog.close();
      await reload();
      // Said once the table shows the new version.
      notice(
        info.version === latest
          ? `${name} already holds the contents of version ${target}: nothing changed.`
          : `Rolled back ${name} to version ${target}: it is now version ${info.version}.`,
      );
    },
    (error) => {
      if (error.status === 412) {
        fieldError(
          "rollback-error",
          `${name} was changed elsewhere after this history was loaded (it is no longer version ${latest}): nothing was rolled back. The history behind this dialog now shows the latest versions; check them, then roll back again if you still want to.`,
        );
        // Behind the dialog, the versions as they are now.
        reload().catch((failure) =>
          fieldError("history-error", `The history could not be read again: ${failure.message}`),
        );
        return;
      }
      go.disabled = false;
      fieldError("rollback-error", error.message);
    },
  );
}

/** Wires the history view and the rollback dialog; `page` is what they need of the page. @param {HistoryHost} page */
export function wireHistory(page) {
  host = page;
  $("history-back").addEventListener("click", () =>
    guarded(host.backToList, (error) => notice(error.message)),
  );
  $("rollback-form").addEventListener("submit", (event) => {
    event.preventDefault();
    confirmRollback();
  });
  $("rollback-cancel").addEventListener("click", () =>
    /** @type {HTMLDialogElement} */ ($("rollback-dialog")).close(),
  );
}
