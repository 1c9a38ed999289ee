import { InvalidError } from "../errors.js";
import { type MasterKey, type MasterKeyInput, parseMasterKey } from "./master-key.js";

/** Where a manager's master keys come from. */
export interface KeyringOptions {
  /** One master key: seals and opens. */
  masterKey?: MasterKeyInput;
  /**
   * Several master keys: the first seals new writes, every one opens (the Kubernetes
   * encryption-config model). Use it to rotate: put the new key first, run `rotate()`, then drop
   * the old key.
   */
  keyring?: readonly MasterKeyInput[];
}

/** The master keys a manager holds: one primary that seals, any number that open. */
export class Keyring {
  /** The key that seals every new write. */
  readonly primary: MasterKey;
  readonly #byId: Map<string, MasterKey>;

  constructor(keys: readonly MasterKey[]) {
    const [primary] = keys;
    if (!primary) throw new InvalidError("a keyring needs at least one master key");
    this.primary = primary;
    this.#byId = new Map();
    for (const key of keys) if (!this.#byId.has(key.id)) this.#byId.set(key.id, key);
  }

  /** The key with this id, if held. */
  get(id: string): MasterKey | undefined {
    return this.#byId.get(id);
  }

  /** Ids of every held key, primary first. */
  get ids(): string[] {
    return [...this.#byId.keys()];
  }

  /**
   * Builds the keyring from explicit options, else from `ENVKEEP_MASTER_KEYS` (comma-separated,
   * first seals) or `ENVKEEP_MASTER_KEY`. Throws {@link InvalidError} when there is no key at all:
   * envkeep never falls back to storing plaintext.
   */
  static fromOptions(
    options: KeyringOptions,
    env: Record<string, string | undefined> = process.env,
  ): Keyring {
    if (options.masterKey !== undefined && options.keyring !== undefined) {
      throw new InvalidError("give either masterKey or keyring, not both");
    }
    if (options.keyring !== undefined) {
      if (!Array.isArray(options.keyring)) {
        throw new InvalidError("invalid keyring: expected an array of master keys, primary first");
      }
      return new Keyring(options.keyring.map((k, i) => parseMasterKey(k, `keyring[${i}]`)));
    }
    if (options.masterKey !== undefined) return new Keyring([parseMasterKey(options.masterKey)]);
    const many = env.ENVKEEP_MASTER_KEYS?.trim();
    if (many) {
      const parts = many.split(",").map((part) => part.trim());
      return new Keyring(
        parts.map((part, i) => parseMasterKey(part, `ENVKEEP_MASTER_KEYS entry ${i + 1}`)),
      );
    }
    const one = env.ENVKEEP_MASTER_KEY?.trim();
    if (one) return new Keyring([parseMasterKey(one, "ENVKEEP_MASTER_KEY")]);
    throw new InvalidError(
      "no master key: pass masterKey or keyring, or set ENVKEEP_MASTER_KEY (generate one with generateMasterKey() or `envkeep key generate`)",
    );
  }
}
