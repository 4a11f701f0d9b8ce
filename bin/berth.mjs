#!/usr/bin/env node
// The CLI is TypeScript run through tsx, like the server, so there is no separate build step.
import { register } from "tsx/esm/api";

register({ tsconfig: new URL("../tsconfig.json", import.meta.url).pathname });
await import("../lib/cli/main.ts");
