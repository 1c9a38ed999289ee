// @ts-check
/**
 * Small helpers over the page's elements. Text from the server only ever goes in with
 * `textContent`, never parsed as markup.
 */

/** @param {string} id */
export function $(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`missing #${id}`);
  return element;
}

/** @param {string} id */
export const input = (id) => /** @type {HTMLInputElement} */ ($(id));

/** The views of the page: one is shown at a time. */
const VIEWS = ["sign-in-view", "list-view", "edit-view", "history-view"];

/** @param {string} view */
export function show(view) {
  for (const id of VIEWS) $(id).hidden = id !== view;
}

/** @param {string} text */
export function notice(text) {
  $("notice").textContent = text;
}

/** @param {string} id @param {string} text */
export function fieldError(id, text) {
  $(id).textContent = text;
}

export function clearErrors() {
  for (const element of document.querySelectorAll(".field-error")) element.textContent = "";
}

/** `2026-01-02 03:04Z` (UTC, to the minute). @param {string} iso */
export function shortTime(iso) {
  return `${iso.slice(0, 16).replace("T", " ")}Z`;
}

/** A button that names its action for assistive technology. @param {string} label @param {string} text @param {() => void} onClick */
export function actionButton(label, text, onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = text;
  button.setAttribute("aria-label", label);
  button.addEventListener("click", onClick);
  return button;
}

/**
 * Adds a cell to `row` holding `text` (as text, never markup), labelled for the phone layout's
 * cards. @param {HTMLTableRowElement} row @param {string} label @param {string} text
 * @param {string} [className]
 */
export function labelledCell(row, label, text, className) {
  const td = row.insertCell();
  td.dataset.label = label;
  td.textContent = text;
  if (className) td.className = className;
  return td;
}
