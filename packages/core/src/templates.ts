import { InvalidError } from "./errors.js";

/** A secret template: the keys a well-known service's secret must hold. */
export interface SecretTemplate {
  /** Template name, e.g. `"postgres"`. */
  readonly name: string;
  /** What the secret is for. */
  readonly description: string;
  /** Keys the secret must hold, in the order people usually write them. */
  readonly keys: readonly string[];
}

/**
 * The templates of `envkeep secret create --template`, the counterparts of Modal's secret
 * templates. Each lists the keys a secret for that service must hold.
 */
export const SECRET_TEMPLATES: readonly SecretTemplate[] = Object.freeze(
  [
    {
      name: "aws",
      description: "Amazon Web Services",
      keys: ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
    },
    { name: "github", description: "GitHub", keys: ["GITHUB_TOKEN"] },
    { name: "huggingface", description: "Hugging Face", keys: ["HF_TOKEN"] },
    { name: "mongodb", description: "MongoDB (connection string)", keys: ["MONGO_URI"] },
    { name: "openai", description: "OpenAI", keys: ["OPENAI_API_KEY"] },
    {
      name: "postgres",
      description: "PostgreSQL (libpq variables)",
      keys: ["PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"],
    },
    { name: "wandb", description: "Weights & Biases", keys: ["WANDB_API_KEY"] },
  ].map((template) => Object.freeze({ ...template, keys: Object.freeze([...template.keys]) })),
);

/**
 * The template called `name`.
 *
 * @throws {InvalidError} naming the known templates when there is none of that name.
 */
export function getSecretTemplate(name: string): SecretTemplate {
  const template = SECRET_TEMPLATES.find((candidate) => candidate.name === name);
  if (!template) {
    const known = SECRET_TEMPLATES.map((candidate) => candidate.name).join(", ");
    throw new InvalidError(`unknown template ${JSON.stringify(name)}: use one of ${known}`);
  }
  return template;
}

/**
 * Checks that `keys` hold every key of the template called `templateName`. Extra keys are
 * allowed. Only key names are looked at, never values.
 *
 * @throws {InvalidError} naming the missing keys (or the unknown template).
 * @example
 * ```ts
 * import { checkSecretTemplate } from "@envkeep/core";
 * checkSecretTemplate("postgres", Object.keys(entries)); // throws if PGPASSWORD… is missing
 * ```
 */
export function checkSecretTemplate(templateName: string, keys: Iterable<string>): SecretTemplate {
  const template = getSecretTemplate(templateName);
  const given = new Set(keys);
  const missing = template.keys.filter((key) => !given.has(key));
  if (missing.length > 0) {
    throw new InvalidError(
      `template "${template.name}" needs the keys ${template.keys.join(", ")}; missing: ${missing.join(", ")}`,
    );
  }
  return template;
}
