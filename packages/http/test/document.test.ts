/**
 * The API document keeps the seed (Modal's Secrets API document: its paths, operationIds,
 * schemas and bearer scheme) and states core's rules exactly: the names, keys and values it
 * declares are core's own schemas.
 */
import { RULE_SCHEMAS } from "@envkeep/core";
import { API_ERROR_CODES, apiDocument, STATUS_OF_CODE } from "@envkeep/http";
import { describe, expect, it } from "vitest";

const document = apiDocument();

describe("the seed, kept", () => {
  it("its paths, methods and operationIds, under /v1", () => {
    expect(document.openapi).toBe("3.1.0");
    expect(document.servers).toEqual([{ url: "/v1" }]);
    expect(document.paths["/secrets"].get.operationId).toBe("listSecrets");
    expect(document.paths["/secrets"].post.operationId).toBe("createSecret");
    expect(document.paths["/secrets/{secret_name}"].get.operationId).toBe("getSecret");
    expect(document.paths["/secrets/{secret_name}"].delete.operationId).toBe("deleteSecret");
    expect(document.paths["/secrets/{secret_name}/versions"].get.operationId).toBe(
      "listSecretVersions",
    );
    expect(document.paths["/secrets/{secret_name}/rollback"].post.operationId).toBe(
      "rollbackSecret",
    );
    expect(document.paths["/secrets"].post.responses["201"]).toBeDefined();
    expect(document.paths["/secrets/{secret_name}"].delete.responses["204"]).toBeDefined();
    expect(
      document.paths["/secrets"].get.responses["200"].content["application/json"].schema,
    ).toEqual({ $ref: "#/components/schemas/SecretList" });
    expect(document.components.schemas.SecretList.properties.data.items).toEqual({
      $ref: "#/components/schemas/Secret",
    });
  });

  it("Secret keeps the seed's snake_case fields; SecretCreate requires name, and env (or dotenv)", () => {
    const secret = document.components.schemas.Secret;
    for (const field of ["secret_id", "name", "environment", "created_at", "keys"]) {
      expect(secret.properties).toHaveProperty(field);
    }
    expect(secret.properties.created_at).toEqual({ type: "string", format: "date-time" });
    expect(secret.properties.keys).toMatchObject({ type: "array", items: { type: "string" } });
    const create = document.components.schemas.SecretCreate;
    expect(create.required).toEqual(["name"]);
    expect(create.oneOf.map((choice: { required: string[] }) => choice.required)).toEqual([
      ["env"],
      ["dotenv"],
    ]);
    expect(Object.keys(create.properties)).toEqual(
      expect.arrayContaining(["name", "environment", "env", "dotenv"]),
    );
  });

  it("a bearer scheme, required everywhere but the document itself", () => {
    expect(document.components.securitySchemes.bearerAuth).toMatchObject({
      type: "http",
      scheme: "bearer",
    });
    expect(document.security).toEqual([{ bearerAuth: [] }]);
    expect(document.paths["/openapi.json"].get.security).toEqual([]);
  });
});

describe("core's rules, stated exactly", () => {
  it("names, keys and values are core's schemas", () => {
    const { SecretName, EnvironmentName, Key, Value } = document.components.schemas;
    const { description: _a, ...secretName } = SecretName;
    const { description: _b, ...environmentName } = EnvironmentName;
    const { description: _c, ...key } = Key;
    const { description: _d, ...value } = Value;
    expect(secretName).toEqual(RULE_SCHEMAS.secretName);
    expect(environmentName).toEqual(RULE_SCHEMAS.environmentName);
    expect(key).toEqual(RULE_SCHEMAS.key);
    expect(value).toEqual(RULE_SCHEMAS.value);
  });

  it("every error code of core has a documented status; the Error schema lists them all", () => {
    const codes = document.components.schemas.Error.properties.error.properties.code.enum;
    expect(codes).toEqual([...API_ERROR_CODES]);
    for (const code of Object.keys(STATUS_OF_CODE)) expect(codes).toContain(code);
  });

  it("every authenticated operation documents 400, 401, 403, 500 and 503; bodies 413 and 415", () => {
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        if (method === "parameters") continue;
        const { responses, requestBody, security } = operation as {
          responses: Record<string, unknown>;
          requestBody?: unknown;
          security?: unknown[];
        };
        if (security?.length === 0) continue;
        for (const status of ["400", "401", "403", "500", "503"]) {
          expect(responses, `${method} ${path}`).toHaveProperty(status);
        }
        if (requestBody) {
          for (const status of ["413", "415"]) {
            expect(responses, `${method} ${path}`).toHaveProperty(status);
          }
        }
      }
    }
  });

  it("each call returns a fresh copy", () => {
    const first = apiDocument();
    first.info.title = "changed";
    expect(apiDocument().info.title).toBe("envkeep Secrets API");
  });
});
