#!/usr/bin/env node
// `npx imgpath …`: load the TypeScript CLI in-process through tsx (a runtime dependency), no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
