import { describe, expect, it } from "vitest";
import { InvalidError } from "../src/errors.js";
import { checkSecretTemplate, getSecretTemplate, SECRET_TEMPLATES } from "../src/templates.js";

describe("secret templates", () => {
  it("holds the issue's table", () => {
    expect(Object.fromEntries(SECRET_TEMPLATES.map((t) => [t.name, t.keys]))).toEqual({
      aws: ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
      github: ["GITHUB_TOKEN"],
      huggingface: ["HF_TOKEN"],
      mongodb: ["MONGO_URI"],
      openai: ["OPENAI_API_KEY"],
      postgres: ["PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"],
      wandb: ["WANDB_API_KEY"],
    });
    for (const template of SECRET_TEMPLATES) expect(template.description).not.toBe("");
  });

  it("is frozen", () => {
    expect(Object.isFrozen(SECRET_TEMPLATES)).toBe(true);
    expect(() => (getSecretTemplate("aws").keys as string[]).push("X")).toThrow();
  });

  it("accepts keys that include every template key (extras allowed)", () => {
    expect(checkSecretTemplate("openai", ["OPENAI_API_KEY", "OPENAI_ORG"]).name).toBe("openai");
  });

  it("names the missing keys", () => {
    expect(() => checkSecretTemplate("postgres", ["PGHOST", "PGUSER"])).toThrow(
      new InvalidError(
        'template "postgres" needs the keys PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE; missing: PGPORT, PGPASSWORD, PGDATABASE',
      ),
    );
  });

  it("an unknown template lists the known ones", () => {
    expect(() => getSecretTemplate("mysql")).toThrow(
      /unknown template "mysql": use one of aws, github, huggingface, mongodb, openai, postgres, wandb/,
    );
  });
});
