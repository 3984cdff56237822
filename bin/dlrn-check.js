#!/usr/bin/env -S node --max-semi-space-size=1
// Runs cli/dlrn-check.ts: compiled when built, else from source (bin/launch.js; README, "How it runs").
import { launch } from './launch.js';

await launch('cli/dlrn-check');
