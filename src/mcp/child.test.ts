// How a server command is found and started (src/mcp/child.ts). On this
// machine: by name on PATH, by a path with spaces, and a missing command as
// exit 127. Windows resolution (PATHEXT, .cmd through cmd.exe, spaces) is
// checked on cross-spawn's own parser with the platform set to win32, and
// ChildServer itself is run in a process that believes it is on Windows,
// with a fake cmd.exe that records what it was asked to run.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ChildServer } from './child.js';

const require = createRequire(import.meta.url);

function script(dir: string, name: string, body: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

describe('ChildServer: starting the command', { skip: process.platform === 'win32' ? 'POSIX shell scripts' : false }, () => {
  it('finds a command by name on PATH', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'toolgate-child-'));
    script(dir, 'my-server', 'exit 5');
    const child = new ChildServer({ command: 'my-server', args: [], env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
    assert.deepEqual(await child.exited, { code: 5, signal: null });
  });

  it('starts a path with spaces, passing arguments with spaces unchanged', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'toolgate-child-')), 'Program Files', 'my server');
    const out = join(dir, 'args.txt');
    const file = script(dir, 'server with spaces', `printf '%s|' "$@" > '${out}'; exit 3`);
    const child = new ChildServer({ command: file, args: ['a b', '"quoted"', '%PATH%'] });
    assert.deepEqual(await child.exited, { code: 3, signal: null });
    assert.equal(readFileSync(out, 'utf8'), 'a b|"quoted"|%PATH%|');
  });

  it('a command that does not exist ends as exit 127', async () => {
    const child = new ChildServer({
      command: 'toolgate-no-such-command',
      args: [],
      env: { ...process.env, PATH: mkdtempSync(join(tmpdir(), 'toolgate-child-')) },
    });
    assert.deepEqual(await child.exited, { code: 127, signal: null });
  });
});

type Parsed = { command: string; args: string[]; file?: string };
const CROSS_SPAWN_MODULES = /[\\/]node_modules[\\/](cross-spawn|which|isexe|path-key|shebang-command|shebang-regex)[\\/]/;

/** cross-spawn's parser run as on Windows: loaded afresh (it reads the platform when loaded) and called with the platform set. */
function windowsParse(env: NodeJS.ProcessEnv): (command: string, args: string[]) => Parsed {
  return (command, args) => {
    const platform = Object.getOwnPropertyDescriptor(process, 'platform')!;
    const forget = () => {
      for (const k of Object.keys(require.cache)) if (CROSS_SPAWN_MODULES.test(k)) delete require.cache[k];
    };
    forget();
    Object.defineProperty(process, 'platform', { value: 'win32' });
    try {
      const parse = require('cross-spawn/lib/parse.js') as (c: string, a: string[], o: object) => Parsed;
      return parse(command, args, { env });
    } finally {
      Object.defineProperty(process, 'platform', platform);
      forget();
    }
  };
}

describe('Windows command resolution (cross-spawn, platform win32)', () => {
  const bin = mkdtempSync(join(tmpdir(), 'toolgate-win-'));
  const spaced = join(bin, 'Program Files', 'nodejs');
  mkdirSync(spaced, { recursive: true });
  writeFileSync(join(spaced, 'npx.cmd'), '@echo off\r\n');
  writeFileSync(join(bin, 'server.exe'), '');
  // PATHEXT in lower case: Windows matches names case-insensitively, this test's file system does not.
  const env = { Path: `${spaced};${bin}`, PATHEXT: '.com;.exe;.bat;.cmd' };
  const parse = windowsParse(env);

  it('npx is found as npx.cmd through PATHEXT, and run through cmd.exe with its path and arguments quoted', () => {
    const p = parse('npx', ['-y', '@modelcontextprotocol/server-filesystem', 'C:\\Users\\me\\My Documents']);
    const cmd = join(spaced, 'npx.cmd');
    assert.equal(p.file, cmd);
    assert.match(p.command, /cmd\.exe$/i);
    assert.deepEqual(p.args.slice(0, -1), ['/d', '/e:on', '/v:off', '/s', '/c']);
    assert.equal(p.args.at(-1), `""${cmd}" "-y" "@modelcontextprotocol/server-filesystem" "C:\\Users\\me\\My Documents""`);
  });

  it('an .exe runs directly, without a shell', () => {
    const p = parse('server', ['--port', '3000']);
    assert.equal(p.command, 'server');
    assert.equal(p.file, join(bin, 'server.exe'));
    assert.deepEqual(p.args, ['--port', '3000']);
  });

  it("cmd.exe's metacharacters in arguments stay text: & and | quoted, %VAR% not expanded", () => {
    const line = parse('npx', ['a&b', '|calc', '%PATH%']).args.at(-1)!;
    assert.ok(line.endsWith(`"a&b" "|calc" "%%cd:~,%PATH%%cd:~,%""`), line);
  });
});

describe('ChildServer as on Windows (platform set to win32 before it loads)', { skip: process.platform === 'win32' ? 'runs on Windows itself' : false }, () => {
  it('starts `npx` as npx.cmd through cmd.exe, arguments quoted, where a plain spawn finds nothing', () => {
    // A fake cmd.exe (a shell script) records what it was asked to run; npx exists only as npx.cmd.
    const bin = mkdtempSync(join(tmpdir(), 'toolgate-win-'));
    const record = join(bin, 'args.txt');
    script(bin, 'cmd.exe', `printf '%s\\n' "$@" > '${record}'`);
    writeFileSync(join(bin, 'npx.cmd'), '@echo off\r\n');
    const child = fileURLToPath(new URL('./child.js', import.meta.url));
    const program = `import { ChildServer } from ${JSON.stringify(child)};
      const c = new ChildServer({ command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', 'C:\\\\My Documents'] });
      process.stdout.write(JSON.stringify(await c.exited));`;
    // PATH read both ways: split on ';' (Windows, for the lookup) it holds bin; split on ':' (this
    // machine's exec of cmd.exe) too. Nothing else is on it: no real npx to find.
    const r = spawnSync(
      process.execPath,
      ['--import', 'data:text/javascript,Object.defineProperty(process,"platform",{value:"win32"})', '--input-type=module', '-e', program],
      {
        encoding: 'utf8',
        env: { PATH: `${bin}:x;${bin}`, PATHEXT: '.com;.exe;.bat;.cmd' },
      },
    );
    assert.equal(r.stdout, JSON.stringify({ code: 0, signal: null }), r.stderr);
    assert.deepEqual(readFileSync(record, 'utf8').split('\n').slice(0, 6), [
      '/d',
      '/e:on',
      '/v:off',
      '/s',
      '/c',
      `""${join(bin, 'npx.cmd')}" "-y" "@modelcontextprotocol/server-filesystem" "C:\\My Documents""`,
    ]);
  });
});
