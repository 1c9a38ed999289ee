#!/usr/bin/env node
// The `envkeep` command. This file is committed, not built, so that installing the workspace can
// link the command before anything is built (no "Failed to create bin" warning); it loads the
// built CLI (dist/bin.js, one bundle).
import "../dist/bin.js";
