#!/usr/bin/env node
// The toolgate command line. Each command lives in its own file and only wires
// objects together; the work happens in the rooms under src/.
import { Command } from 'commander';
import { registerRun } from './run.js';
import { registerValidate } from './validate.js';
import { registerExplain } from './explain.js';
import { registerTest } from './test.js';
import { registerDemo } from './demo.js';
import { registerClassify } from './classify.js';
import { registerScan } from './scan.js';
import { registerGrant } from './grant.js';
import { registerApprovals } from './approvals.js';
import { VERSION } from './version.js';

const program = new Command('toolgate')
  .description('Deterministic policy gateway for the Model Context Protocol')
  .version(VERSION)
  .enablePositionalOptions();

registerRun(program);
registerValidate(program);
registerExplain(program);
registerTest(program);
registerDemo(program);
registerClassify(program);
registerScan(program);
registerGrant(program);
registerApprovals(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`toolgate: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = process.exitCode || 1;
});
