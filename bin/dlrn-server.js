#!/usr/bin/env node
// Runs cli/dlrn-server.ts: compiled when built, else from source (bin/launch.js; README, "How it runs").
// V8's default young generation here, not the other bins' 1 MB: an API under load allocates per
// request, and 1 MB semi-spaces cost it 40% of its throughput (bench/README.md, "The API").
import { launch } from './launch.js';

await launch('cli/dlrn-server');
