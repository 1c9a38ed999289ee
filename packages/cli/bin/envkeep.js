#!/usr/bin/env node
// The `envkeep` command. This file is committed, not built, so that installing the workspace can
// link the command before anything is built (no "Failed to create bin" warning); it loads the
// built CLI (dist/bin.js, one bundle). Where Node has a compile cache (22.1+), the CLI's code is
// compiled once, not at every start.
import module from "node:module";

module.enableCompileCache?.();
await import("../dist/bin.js");
