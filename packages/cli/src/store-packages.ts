/**
 * Loads the store package a store URL names, only when that URL asks for it: a SQLite store
 * never loads the Redis client, and `--help` loads no store at all. Each known package is a
 * literal `import()` so that the bundled binary carries it as its own chunk (sharing the one
 * copy of `@envkeep/core` with the CLI); any other package is imported by name.
 */
export function importStorePackage(specifier: string): Promise<unknown> {
  switch (specifier) {
    case "@envkeep/store-sqlite":
      return import("@envkeep/store-sqlite");
    case "@envkeep/store-redis":
      return import("@envkeep/store-redis");
    case "@envkeep/store-memory":
      return import("@envkeep/store-memory");
    default:
      return import(specifier);
  }
}
