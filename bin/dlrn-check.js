#!/usr/bin/env node
// Runs cli/dlrn-check.ts from source through tsx (see README, "How it runs").
import { register } from 'tsx/esm/api';

register();
await import('../cli/dlrn-check.ts');
