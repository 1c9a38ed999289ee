/** The generated module, relative to the package. */
export declare const GENERATED_FILE: string;
/** Each exported validator and the export of schemas.ts it checks. */
export declare const VALIDATORS: Readonly<Record<string, string>>;
/** The source of the generated module for `schemas` (the exports of schemas.ts). */
export declare function generateValidators(schemas: Readonly<Record<string, unknown>>): string;
