import { describe, expect, it } from "vitest";
import {
  inheritedEnvironment,
  NOT_INHERITED,
  withheldVariables,
} from "../src/run/inherited-environment.js";
import { childEnvironment } from "../src/run/spawn.js";

const MASTER = "ek1_canary-master";

describe("withheldVariables", () => {
  it("always the master keys, whatever their value and in any case", () => {
    expect(NOT_INHERITED).toEqual(["ENVKEEP_MASTER_KEY", "ENVKEEP_MASTER_KEYS"]);
    expect(
      withheldVariables({
        ENVKEEP_MASTER_KEY: MASTER,
        ENVKEEP_MASTER_KEYS: "",
        envkeep_master_key: MASTER,
        ENVKEEP_MASTER_KEY_FILE: "/run/secrets/key",
        HOME: "/root",
      }),
    ).toEqual(new Set(["ENVKEEP_MASTER_KEY", "ENVKEEP_MASTER_KEYS", "envkeep_master_key"]));
  });

  it.each([
    ["redis://:pw@cache:6379/0"],
    ["rediss://user:pw@cache/1?prefix=app:"],
    ["redis://token@cache"],
    ["redis://cache?password=pw"],
    ["postgres://cache/db"],
    ["not a url"],
  ])("ENVKEEP_STORE=%s (credentials, or can't be told)", (url) => {
    expect(withheldVariables({ ENVKEEP_STORE: url, Envkeep_Store: url })).toEqual(
      new Set(["ENVKEEP_STORE", "Envkeep_Store"]),
    );
  });

  it.each([
    ["memory:"],
    ["sqlite:./.envkeep/secrets.db"],
    ["sqlite:///var/lib/envkeep.db?table=t&busyTimeoutMs=100"],
    ["redis://cache:6379/0?prefix=app:&timeoutMs=100"],
    [""],
  ])("not ENVKEEP_STORE=%s (no credentials)", (url) => {
    expect(withheldVariables({ ENVKEEP_STORE: url })).toEqual(new Set());
  });
});

describe("inheritedEnvironment and childEnvironment", () => {
  const parent = {
    HOME: "/home/u",
    UNDEFINED: undefined,
    ENVKEEP_MASTER_KEY: MASTER,
    ENVKEEP_STORE: "redis://:canary-pw@cache",
  };

  it("inheritedEnvironment drops the withheld and the undefined variables only", () => {
    expect(inheritedEnvironment(parent)).toEqual(new Map([["HOME", "/home/u"]]));
  });

  it("a child gets what is inherited overlaid by the resolved variables, which may set anything", () => {
    expect(childEnvironment({ A: "1" }, true, parent)).toEqual({ HOME: "/home/u", A: "1" });
    expect(childEnvironment({ ENVKEEP_MASTER_KEY: "explicit" }, true, parent)).toEqual({
      HOME: "/home/u",
      ENVKEEP_MASTER_KEY: "explicit",
    });
    expect(childEnvironment({ A: "1" }, false, parent)).toEqual({ A: "1" });
  });
});
