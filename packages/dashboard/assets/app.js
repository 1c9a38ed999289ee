// @ts-check
/**
 * The envkeep dashboard: a small client of the HTTP API under `v1/` (relative to this page, so the
 * app can be mounted under any prefix; `api-client.js`). The token lives in this tab's
 * sessionStorage only and travels as the Authorization header. Values go to the API and never come
 * back: the API returns metadata only, and this page never puts a value it was given into the page
 * either. Every text from the server is set with `textContent`, never parsed as markup. This
 * module signs in and out, lists, creates, edits and deletes; `history.js` shows a secret's
 * versions and rolls back.
 */
import { ApiError, api, guarded, session, whenUnauthorized } from "./api-client.js";
import { openHistory, wireHistory } from "./history.js";
import {
  $,
  actionButton,
  clearErrors,
  fieldError,
  input,
  labelledCell,
  notice,
  shortTime,
  show,
} from "./page.js";

const TOKEN_KEY = "envkeep.token";
const PAGE_SIZE = 50;

/**
 * @typedef {{ pattern?: string, minLength?: number, maxLength?: number, not?: { pattern: string } }} Rule
 * @typedef {{ templates: { name: string, description: string, keys: string[] }[],
 *   rules: { secretName: Rule, key: Rule, value: Rule } }} Config
 * @typedef {import("./api-client.js").SecretJson} SecretJson
 * @typedef {import("./api-client.js").TokenJson} TokenJson
 */

const state = {
  /** @type {TokenJson | undefined} */ caller: undefined,
  /** @type {Config} */ config: { templates: [], rules: { secretName: {}, key: {}, value: {} } },
  environment: "",
  /** @type {SecretJson[]} */ secrets: [],
  /** @type {string | undefined} */ nextCursor: undefined,
  /** @type {SecretJson | undefined} */ editing: undefined,
};

// ── rules (the API's own, from config.json) ──────────────────────────────────

/** Why `value` breaks `rule`, or "". @param {Rule} rule @param {string} value @param {string} what */
function ruleError(rule, value, what) {
  if (rule.minLength !== undefined && value.length < rule.minLength) return `${what} is empty`;
  if (rule.maxLength !== undefined && value.length > rule.maxLength) {
    return `${what} is longer than ${rule.maxLength} characters`;
  }
  if (rule.pattern !== undefined && !new RegExp(rule.pattern, "u").test(value)) {
    return `${what} may hold only ${describePattern(rule.pattern)}`;
  }
  if (rule.not?.pattern !== undefined && new RegExp(rule.not.pattern, "u").test(value)) {
    return `${what} is reserved`;
  }
  return "";
}

/** @param {string} pattern */
function describePattern(pattern) {
  if (pattern.startsWith("^[A-Za-z_]")) return "letters, digits and _, not starting with a digit";
  return 'letters, digits, ".", "_" and "-"';
}

// ── sign in / out ─────────────────────────────────────────────────────────────

/** @param {string} token */
async function signIn(token) {
  session.token = token;
  try {
    state.caller = /** @type {TokenJson} */ (await api("GET", "token"));
    const environments = /** @type {{ data: string[], default: string }} */ (
      await api("GET", "environments")
    );
    sessionStorage.setItem(TOKEN_KEY, token);
    fillEnvironments(environments.data, environments.default);
  } catch (error) {
    session.token = undefined;
    state.caller = undefined;
    throw error;
  }
  const caller = state.caller;
  document.body.dataset.scope = caller.scope;
  $("who").textContent = `${caller.name} (${caller.scope})`;
  $("session").hidden = false;
  await loadSecrets();
}

/** @param {string} [message] */
function signOut(message = "Signed out.") {
  sessionStorage.removeItem(TOKEN_KEY);
  session.token = undefined;
  Object.assign(state, {
    caller: undefined,
    secrets: [],
    nextCursor: undefined,
    editing: undefined,
  });
  delete document.body.dataset.scope;
  for (const dialog of document.querySelectorAll("dialog")) dialog.close();
  $("session").hidden = true;
  input("token").value = "";
  show("sign-in-view");
  notice(message);
}

/** @param {string[]} names @param {string} preferred */
function fillEnvironments(names, preferred) {
  const select = /** @type {HTMLSelectElement} */ ($("environment"));
  select.replaceChildren();
  const all = names.length > 0 ? names : [preferred];
  for (const name of all) select.append(new Option(name, name));
  state.environment = all.includes(preferred) ? preferred : (all[0] ?? preferred);
  select.value = state.environment;
}

// ── the list ──────────────────────────────────────────────────────────────────

/** @param {boolean} [more] */
async function loadSecrets(more = false) {
  const page = /** @type {{ data: SecretJson[], next_cursor?: string }} */ (
    await api("GET", "secrets", {
      query: {
        environment: state.environment,
        max_objects: String(PAGE_SIZE),
        cursor: more ? state.nextCursor : undefined,
      },
    })
  );
  state.secrets = more ? [...state.secrets, ...page.data] : page.data;
  state.nextCursor = page.next_cursor;
  renderList();
  show("list-view");
}

function canWrite() {
  return state.caller !== undefined && state.caller.scope !== "read";
}

function renderList() {
  const filter = input("filter").value.trim().toLowerCase();
  const body = /** @type {HTMLTableElement} */ ($("secrets")).tBodies[0];
  if (!body) return;
  body.replaceChildren();
  const shown = state.secrets.filter((secret) => secret.name.toLowerCase().includes(filter));
  for (const secret of shown) {
    const row = body.insertRow();
    /** @param {string} label @param {string} text @param {string} [className] */
    const cell = (label, text, className) => labelledCell(row, label, text, className);
    cell("Name", secret.name);
    cell("Keys", secret.keys.join(", "), "keys");
    cell("Created", shortTime(secret.created_at));
    cell("Updated", shortTime(secret.updated_at));
    cell("By", secret.updated_by ?? secret.created_by ?? "");
    cell("Version", String(secret.version));
    const actions = cell("Actions", "", "actions-cell");
    actions.append(actionButton(`History of ${secret.name}`, "History", () => openHistory(secret)));
    if (canWrite()) {
      actions.append(
        " ",
        actionButton(`Edit ${secret.name}`, "Edit", () => openEditor(secret)),
        " ",
        actionButton(`Delete ${secret.name}`, "Delete", () => openDelete(secret)),
      );
    }
  }
  $("empty").hidden = state.secrets.length > 0;
  $("load-more").hidden = state.nextCursor === undefined;
}

// ── create and edit ──────────────────────────────────────────────────────────

/**
 * One row of the key/value editor. An existing key shows that a value is set, never the value.
 * @param {{ key?: string, existing?: boolean }} [row]
 */
function addRow(row = {}) {
  const rows = $("rows");
  const tr = document.createElement("tr");
  const index = rows.childElementCount;
  const keyCell = tr.insertCell();
  const valueCell = tr.insertCell();
  const removeCell = tr.insertCell();

  const key = document.createElement("input");
  key.type = "text";
  key.id = `row-key-${index}`;
  key.className = "row-key";
  key.autocomplete = "off";
  key.spellcheck = false;
  key.value = row.key ?? "";
  key.setAttribute("aria-label", `Key ${index + 1}`);
  if (row.existing) {
    key.readOnly = true;
    key.dataset.existing = "true";
  }
  const keyError = document.createElement("p");
  keyError.className = "field-error";
  keyError.id = `row-key-${index}-error`;
  keyCell.append(key, keyError);

  const value = document.createElement("input");
  value.type = "password";
  value.id = `row-value-${index}`;
  value.className = "row-value";
  value.autocomplete = "new-password";
  value.spellcheck = false;
  value.placeholder = row.existing ? "value set: type to replace" : "value";
  value.setAttribute("aria-label", row.key ? `Value of ${row.key}` : `Value ${index + 1}`);
  const valueError = document.createElement("p");
  valueError.className = "field-error";
  valueError.id = `row-value-${index}-error`;
  valueCell.append(value, valueError);

  if (row.existing) {
    const label = document.createElement("label");
    const remove = document.createElement("input");
    remove.type = "checkbox";
    remove.className = "row-remove";
    label.append(remove, ` Remove ${row.key}`);
    removeCell.append(label);
  } else {
    removeCell.append(
      actionButton(`Remove key ${index + 1}`, "Remove", () => {
        tr.remove();
      }),
    );
  }
  rows.append(tr);
  return key;
}

/** @param {string} source */
function chooseSource(source) {
  $("template-choice").hidden = source !== "template";
  $("dotenv-choice").hidden = source !== "dotenv";
  $("rows-choice").hidden = source === "dotenv";
  if (source === "template") applyTemplate();
}

function applyTemplate() {
  const name = /** @type {HTMLSelectElement} */ ($("template")).value;
  const template = state.config.templates.find((candidate) => candidate.name === name);
  $("rows").replaceChildren();
  for (const key of template?.keys ?? []) addRow({ key });
}

/** Opens the editor: a new secret, or `secret` (its keys, never its values). @param {SecretJson} [secret] */
function openEditor(secret) {
  clearErrors();
  state.editing = secret;
  $("rows").replaceChildren();
  /** @type {HTMLFormElement} */ ($("edit-form")).reset();
  $("create-only").hidden = secret !== undefined;
  if (secret) {
    $("edit-title").textContent = `Edit ${secret.name} (version ${secret.version})`;
    $("save").textContent = "Save changes";
    for (const key of secret.keys) addRow({ key, existing: true });
  } else {
    $("edit-title").textContent = "New secret";
    $("save").textContent = "Create secret";
    chooseSource("blank");
    addRow();
  }
  show("edit-view");
  (secret ? $("add-row") : $("secret-name")).focus();
}

/**
 * The rows as changes: `{ KEY: value }` for set keys, `{ KEY: null }` for removed ones. Checks
 * every key and value by the API's rules, with the error beside the field.
 * @returns {Record<string, string | null> | undefined}
 */
function collectRows() {
  const { rules } = state.config;
  /** @type {Record<string, string | null>} */
  const changes = Object.create(null);
  let ok = true;
  for (const tr of $("rows").children) {
    const key = /** @type {HTMLInputElement} */ (tr.querySelector(".row-key"));
    const value = /** @type {HTMLInputElement} */ (tr.querySelector(".row-value"));
    const remove = /** @type {HTMLInputElement | null} */ (tr.querySelector(".row-remove"));
    const name = key.value.trim();
    if (key.dataset.existing) {
      if (remove?.checked) changes[name] = null;
      else if (value.value !== "") changes[name] = value.value;
      continue;
    }
    if (name === "" && value.value === "") continue;
    const keyProblem =
      ruleError(rules.key, name, "The key") || (name in changes ? "This key is given twice" : "");
    const valueProblem = ruleError(rules.value, value.value, "The value").replace(" is empty", "");
    fieldError(`${key.id}-error`, keyProblem);
    fieldError(`${value.id}-error`, valueProblem);
    if (keyProblem || valueProblem) ok = false;
    else changes[name] = value.value;
  }
  return ok ? changes : undefined;
}

async function save() {
  clearErrors();
  const editing = state.editing;
  const environment = state.environment;
  if (editing) {
    const changes = collectRows();
    if (!changes) return;
    await guarded(
      async () => {
        await api("PATCH", `secrets/${encodeURIComponent(editing.name)}`, {
          query: { environment },
          body: { env: changes },
          headers: { "If-Match": `"${editing.version}"` },
        });
        notice(`Saved ${editing.name}.`);
        await loadSecrets();
      },
      (error) => {
        fieldError(
          "form-error",
          error.status === 412
            ? `${editing.name} was changed elsewhere since you opened it: nothing was saved. Cancel and open it again to see the new version.`
            : error.message,
        );
      },
    );
    return;
  }
  const name = input("secret-name").value.trim();
  const nameProblem = ruleError(state.config.rules.secretName, name, "The name");
  if (nameProblem) {
    fieldError("secret-name-error", nameProblem);
    return;
  }
  const source = /** @type {HTMLInputElement | null} */ (
    document.querySelector('input[name="source"]:checked')
  )?.value;
  /** @type {Record<string, unknown>} */
  const body = { name, environment };
  if (source === "dotenv") {
    body.dotenv = /** @type {HTMLTextAreaElement} */ ($("dotenv")).value;
  } else {
    const changes = collectRows();
    if (!changes) return;
    body.env = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== null));
  }
  await guarded(
    async () => {
      await api("POST", "secrets", { body });
      notice(`Created ${name} in ${environment}.`);
      await loadSecrets();
    },
    (error) => {
      const message =
        error.status === 409
          ? `A secret named ${name} already exists in ${environment}.`
          : error.message;
      if (error.status === 409 || /secret name/.test(error.message))
        fieldError("secret-name-error", message);
      else if (source === "dotenv") fieldError("dotenv-error", message);
      else fieldError("form-error", message);
    },
  );
}

// ── delete ────────────────────────────────────────────────────────────────────

/** @param {SecretJson} secret */
function openDelete(secret) {
  const dialog = /** @type {HTMLDialogElement} */ ($("delete-dialog"));
  state.editing = secret;
  $("delete-name").textContent = secret.name;
  input("delete-confirm").value = "";
  fieldError("delete-error", "");
  /** @type {HTMLButtonElement} */ ($("delete-go")).disabled = true;
  dialog.showModal();
}

async function confirmDelete() {
  const secret = state.editing;
  const dialog = /** @type {HTMLDialogElement} */ ($("delete-dialog"));
  if (!secret || input("delete-confirm").value !== secret.name) return;
  await guarded(
    async () => {
      try {
        await api("DELETE", `secrets/${encodeURIComponent(secret.name)}`, {
          query: { environment: state.environment },
        });
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 404) throw error;
      }
      dialog.close();
      notice(`Deleted ${secret.name}.`);
      await loadSecrets();
    },
    (error) => fieldError("delete-error", error.message),
  );
}

// ── wiring ────────────────────────────────────────────────────────────────────

async function start() {
  state.config = await (await fetch(new URL("dashboard/config.json", document.baseURI))).json();
  const templates = /** @type {HTMLSelectElement} */ ($("template"));
  for (const template of state.config.templates) {
    templates.append(
      new Option(`${template.description} (${template.keys.join(", ")})`, template.name),
    );
  }

  $("sign-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = input("token").value.trim();
    fieldError("token-error", "");
    if (!token) {
      fieldError("token-error", "Paste a token first.");
      return;
    }
    signIn(token).catch((error) => {
      if (!(error instanceof ApiError)) throw error;
      fieldError(
        "token-error",
        error.status === 401
          ? "This token was not accepted: it is wrong, revoked or expired."
          : error.message,
      );
    });
  });
  $("sign-out").addEventListener("click", () => signOut());
  whenUnauthorized(() =>
    signOut("Your token was not accepted (wrong, revoked or expired): sign in again."),
  );
  wireHistory({
    environment: () => state.environment,
    canWrite,
    backToList: () => loadSecrets(),
  });
  $("environment").addEventListener("change", () => {
    state.environment = /** @type {HTMLSelectElement} */ ($("environment")).value;
    guarded(loadSecrets, (error) => notice(error.message));
  });
  $("filter").addEventListener("input", renderList);
  $("load-more").addEventListener("click", () =>
    guarded(
      () => loadSecrets(true),
      (error) => notice(error.message),
    ),
  );
  $("new-secret").addEventListener("click", () => openEditor());
  $("add-row").addEventListener("click", () => addRow().focus());
  $("cancel").addEventListener("click", () => {
    state.editing = undefined;
    show("list-view");
  });
  for (const radio of document.querySelectorAll('input[name="source"]')) {
    radio.addEventListener("change", () =>
      chooseSource(/** @type {HTMLInputElement} */ (radio).value),
    );
  }
  $("template").addEventListener("change", applyTemplate);
  $("edit-form").addEventListener("submit", (event) => {
    event.preventDefault();
    save();
  });
  input("delete-confirm").addEventListener("input", () => {
    /** @type {HTMLButtonElement} */ ($("delete-go")).disabled =
      input("delete-confirm").value !== state.editing?.name;
  });
  $("delete-form").addEventListener("submit", (event) => {
    event.preventDefault();
    confirmDelete();
  });
  $("delete-cancel").addEventListener("click", () =>
    /** @type {HTMLDialogElement} */ ($("delete-dialog")).close(),
  );

  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) {
    await signIn(saved).catch(() => signOut("Your saved token was not accepted: sign in again."));
  } else {
    show("sign-in-view");
  }
}

start();
