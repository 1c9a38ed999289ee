#!/usr/bin/env node
// The `envkeep` command. This file is committed, not built, so that installing the workspace can
// link the command before anything is built (no "Failed to create bin" warning); it loads the
// built CLI, dist/bin.cjs. CommonJS, like the bundle: required files load synchronously, without
// the ES module loader's asynchronous steps per file (about 8 ms of a command's start). Where Node
// has a compile cache (22.1+), the CLI's code is compiled once, not at every start.
require("node:module").enableCompileCache?.();
require("../dist/bin.cjs");
