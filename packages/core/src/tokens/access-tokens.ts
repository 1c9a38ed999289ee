import {
  ForbiddenError,
  IntegrityError,
  InvalidError,
  NotFoundError,
  UnauthorizedError,
} from "../errors.js";
import { nodeCrypto } from "../lazy-modules.js";
import { scanScope } from "../records/listing.js";
import type { SealedRecords } from "../records/sealed-records.js";
import { createSecret, deleteSecret, updateSecret } from "../records/writes.js";
import type { SecretRef, SecretScope, StoredRecord } from "../store.js";
import { assertEnvironmentName, assertSecretName } from "../validation/validate.js";

/**
 * Access tokens for the HTTP API (and anything else that must let a caller in without the master
 * key). A token belongs to one workspace, may be limited to some environments, has a scope, and
 * may expire.
 *
 * Tokens live in the same store as the secrets, as sealed records of a reserved environment
 * (`en-…` names are never valid user environments, so no secret can collide with them, and the
 * public API can never reach them). So every server process on one store sees the same tokens, a
 * token record can't be forged or edited without the master key, and `rotate()` re-wraps token
 * records with everything else. Only a SHA-256 hash of each token's random part is kept.
 */

/** The reserved environment that holds a workspace's token records. */
export const TOKEN_ENVIRONMENT = "en-envkeep-tokens";

/** What a token may do: `read` lists and gets, `write` also creates, updates and deletes, `admin` also manages tokens. */
export type TokenScope = "read" | "write" | "admin";

const SCOPES: readonly TokenScope[] = ["read", "write", "admin"];

/** Public facts about a token. Never the token, never its hash. */
export interface AccessTokenInfo {
  /** Public id (16 hex characters); also the second part of the token. */
  id: string;
  /** A label: what or who the token is for. */
  name: string;
  workspace: string;
  scope: TokenScope;
  /** The environments it may use, or `null` for all of them. */
  environments: string[] | null;
  createdAt: Date;
  /** When it stops working, if it does. */
  expiresAt?: Date;
  /** The actor of the manager that created it. */
  createdBy?: string;
  /** Last successful use, to within a minute. */
  lastUsedAt?: Date;
}

/** Options of {@link AccessTokens.create}. */
export interface CreateTokenOptions {
  /** A label, with the rules of a secret name. */
  name: string;
  scope: TokenScope;
  /** Environments it may use. @default all */
  environments?: readonly string[];
  /** When it stops working (a `Date` or an ISO 8601 string, in the future). @default never */
  expiresAt?: Date | string;
}

/** A new token: shown once, then only its hash is kept. */
export interface CreatedToken {
  /** `ekt_<id>_<secret>`: give it to the client; it cannot be read back. */
  token: string;
  info: AccessTokenInfo;
}

/** How long a verified token is trusted without reading the store again (revocation delay). */
export const TOKEN_CACHE_MS = 2_000;
/** `lastUsedAt` is written at most this often per token. */
const LAST_USED_RESOLUTION_MS = 60_000;
const TOKEN_PATTERN = /^ekt_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const ID_PATTERN = /^[0-9a-f]{16}$/;

/** SHA-256 of a token's secret part (one-shot `crypto.hash`: each API request pays one). */
const hashOf = (secret: string): Buffer => nodeCrypto().hash("sha256", secret, "buffer");

interface Verified {
  info: AccessTokenInfo;
  hash: Buffer;
  /** Trusted until then (ms since epoch). */
  until: number;
}

/** The stored entries of a token record (all strings, as every secret's). */
interface TokenEntries {
  HASH: string;
  NAME: string;
  SCOPE: string;
  ENVIRONMENTS: string;
  EXPIRES_AT: string;
  LAST_USED_AT: string;
}

function infoOf(record: StoredRecord, entries: Record<string, string>): AccessTokenInfo {
  const fields = entries as Partial<TokenEntries>;
  const scope = fields.SCOPE as TokenScope;
  if (
    !SCOPES.includes(scope) ||
    typeof fields.HASH !== "string" ||
    typeof fields.NAME !== "string"
  ) {
    throw new IntegrityError(`token ${record.name} is damaged`);
  }
  const info: AccessTokenInfo = {
    id: record.name,
    name: fields.NAME,
    workspace: record.workspace,
    scope,
    environments:
      fields.ENVIRONMENTS === "*" ? null : (fields.ENVIRONMENTS ?? "").split(",").filter(Boolean),
    createdAt: new Date(record.createdAt),
  };
  if (fields.EXPIRES_AT) info.expiresAt = new Date(Number(fields.EXPIRES_AT));
  if (record.createdBy !== undefined) info.createdBy = record.createdBy;
  if (fields.LAST_USED_AT) info.lastUsedAt = new Date(Number(fields.LAST_USED_AT));
  return info;
}

function parseExpiry(value: Date | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const time =
    value instanceof Date
      ? value.getTime()
      : typeof value === "string"
        ? Date.parse(value)
        : Number.NaN;
  if (!Number.isFinite(time)) {
    throw new InvalidError("invalid expiresAt: expected a Date or an ISO 8601 date-time");
  }
  if (time <= Date.now()) throw new InvalidError("invalid expiresAt: it is not in the future");
  return time;
}

/**
 * The access tokens of one workspace. Get it from `SecretManager.tokens`.
 *
 * @example
 * ```ts
 * const { token, info } = await secrets.tokens.create({ name: "ci", scope: "read", environments: ["prod"] });
 * // later, on every request:
 * const caller = await secrets.tokens.verify(bearer);
 * secrets.tokens.authorize(caller, { scope: "read", environment: "prod" });
 * ```
 */
export class AccessTokens {
  readonly #records: SealedRecords;
  readonly #scope: SecretScope;
  readonly #verified = new Map<string, Verified>();

  constructor(records: SealedRecords, workspace: string) {
    this.#records = records;
    this.#scope = { workspace, environment: TOKEN_ENVIRONMENT };
  }

  #ref(id: string): SecretRef {
    return { ...this.#scope, name: id };
  }

  /**
   * Creates a token. The returned `token` is the only copy: only its hash is stored.
   * @throws {InvalidError} for a bad name, scope, environment or expiry.
   */
  async create(options: CreateTokenOptions): Promise<CreatedToken> {
    if (!options || typeof options !== "object") throw new InvalidError("create expects options");
    assertSecretName(options.name);
    if (!SCOPES.includes(options.scope)) {
      throw new InvalidError(
        `invalid scope ${JSON.stringify(String(options.scope))}: use read, write or admin`,
      );
    }
    const environments = options.environments === undefined ? undefined : [...options.environments];
    if (environments !== undefined) {
      if (!Array.isArray(environments) || environments.length === 0) {
        throw new InvalidError("invalid environments: expected a non-empty list (omit it for all)");
      }
      for (const environment of environments) assertEnvironmentName(environment);
    }
    const expiresAt = parseExpiry(options.expiresAt);
    const id = nodeCrypto().randomBytes(8).toString("hex");
    const secret = nodeCrypto().randomBytes(32).toString("base64url");
    const entries: TokenEntries = {
      HASH: hashOf(secret).toString("hex"),
      NAME: options.name,
      SCOPE: options.scope,
      ENVIRONMENTS: environments === undefined ? "*" : [...new Set(environments)].sort().join(","),
      EXPIRES_AT: expiresAt === undefined ? "" : String(expiresAt),
      LAST_USED_AT: "",
    };
    const record = await createSecret(this.#records, this.#ref(id), { ...entries }, "fail");
    return { token: `ekt_${id}_${secret}`, info: infoOf(record, { ...entries }) };
  }

  /** Every token of the workspace, newest first. Never a token or a hash. Damaged records are left out. */
  async list(): Promise<AccessTokenInfo[]> {
    const infos: AccessTokenInfo[] = [];
    for await (const entry of scanScope(this.#records, this.#scope, { pageSize: 100 })) {
      if (!("record" in entry)) continue;
      try {
        infos.push(infoOf(entry.record, this.#records.open(entry.record)));
      } catch (error) {
        if (!(error instanceof IntegrityError)) throw error;
      }
    }
    return infos;
  }

  /**
   * Revokes a token: every process stops accepting it within {@link TOKEN_CACHE_MS}.
   * @throws {NotFoundError} when there is no token with this id.
   */
  async revoke(id: string): Promise<void> {
    if (typeof id !== "string" || !ID_PATTERN.test(id)) {
      throw new InvalidError("invalid token id: expected 16 hex characters (see `token list`)");
    }
    this.#verified.delete(id);
    if (!(await deleteSecret(this.#records, this.#ref(id)))) {
      throw new NotFoundError(`no token with id ${id}`);
    }
  }

  /**
   * The token's facts, if it is a live token of this workspace. Checked in constant time against
   * the stored hash; trusted for {@link TOKEN_CACHE_MS} before the store is read again.
   * @throws {UnauthorizedError} for a malformed, unknown, revoked or expired token (the message
   * never holds the token).
   */
  async verify(token: unknown): Promise<AccessTokenInfo> {
    const match = typeof token === "string" ? TOKEN_PATTERN.exec(token) : null;
    if (!match) throw new UnauthorizedError("malformed access token");
    const [, id, secret] = match as unknown as [string, string, string];
    const now = Date.now();
    let known = this.#verified.get(id);
    if (!known || known.until <= now) {
      known = await this.#load(id, now);
      this.#verified.set(id, known);
    }
    const given = hashOf(secret);
    if (known.hash.length !== given.length || !nodeCrypto().timingSafeEqual(given, known.hash)) {
      throw new UnauthorizedError("unknown or revoked access token");
    }
    if (known.info.expiresAt && known.info.expiresAt.getTime() <= now) {
      throw new UnauthorizedError(`access token ${id} has expired`);
    }
    this.#noteUse(id, known, now);
    return known.info;
  }

  /**
   * Checks that a verified token may act: at least `scope`, and, for a call on one environment,
   * that environment.
   * @throws {ForbiddenError} naming what is missing.
   */
  authorize(info: AccessTokenInfo, need: { scope: TokenScope; environment?: string }): void {
    if (SCOPES.indexOf(info.scope) < SCOPES.indexOf(need.scope)) {
      throw new ForbiddenError(
        `access token ${info.id} has scope ${info.scope}; this needs ${need.scope}`,
      );
    }
    if (
      need.environment !== undefined &&
      info.environments !== null &&
      !info.environments.includes(need.environment)
    ) {
      throw new ForbiddenError(
        `access token ${info.id} may not use environment "${need.environment}"`,
      );
    }
  }

  async #load(id: string, now: number): Promise<Verified> {
    let found: Awaited<ReturnType<SealedRecords["readOpen"]>>;
    try {
      found = await this.#records.readOpen(this.#ref(id));
    } catch (error) {
      if (error instanceof IntegrityError)
        throw new UnauthorizedError("unknown or revoked access token");
      throw error;
    }
    if (!found) {
      // Remembered as unusable (a random hash matches nothing) so a flood of one id stays cheap.
      return {
        info: { id } as AccessTokenInfo,
        hash: nodeCrypto().randomBytes(32),
        until: now + TOKEN_CACHE_MS,
      };
    }
    const info = infoOf(found.record, found.entries);
    return {
      info,
      hash: Buffer.from(found.entries.HASH ?? "", "hex"),
      until: now + TOKEN_CACHE_MS,
    };
  }

  /** Records the use, at most once a minute per token, without holding the caller up. */
  #noteUse(id: string, known: Verified, now: number): void {
    const last = known.info.lastUsedAt?.getTime() ?? 0;
    if (now - last < LAST_USED_RESOLUTION_MS) return;
    known.info = { ...known.info, lastUsedAt: new Date(now) };
    updateSecret(this.#records, this.#ref(id), new Map([["LAST_USED_AT", String(now)]]), {
      ifVersion: undefined,
      limits: {},
    }).catch(() => {});
  }
}
