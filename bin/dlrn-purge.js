#!/usr/bin/env node
// Runs cli/dlrn-purge.ts from source through tsx (see README, "How it runs").
import { register } from 'tsx/esm/api';

register();
await import('../cli/dlrn-purge.ts');
