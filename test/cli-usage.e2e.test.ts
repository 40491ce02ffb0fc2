// The command line never surprises: typos are usage errors with a suggestion
// (never a spawned server), `help <command>` works, a forgotten `--` gets the
// fixed command line, a closed stdout ends quietly, every command's help ends
// with examples, logs come as text or JSON without duplicated keys, and the
// completion scripts know the commands. All through the built binary.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { bin, demoServer, tempDir, writePolicy } from './helpers.js';
import { commandPath, walk } from '../src/cli/command-tree.js';
import { buildProgram } from '../src/cli/commands.js';

const POLICY = 'version: "1"\ndefault: allow\ntools: {}\n';

function toolgate(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, timeout: 60_000 });
}

/** A directory on PATH with an executable NAME that records being started in MARKER. */
function markerCommand(name: string): { env: NodeJS.ProcessEnv; marker: string } {
  const dir = tempDir();
  const marker = join(dir, 'started');
  const script = join(dir, name);
  writeFileSync(script, `#!/bin/sh\ntouch '${marker}'\n`);
  chmodSync(script, 0o755);
  return { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, marker };
}

describe('unknown commands and typos', () => {
  it('a misspelt command is a usage error with "did you mean", and starts nothing', () => {
    const { policy } = writePolicy(POLICY);
    const { env, marker } = markerCommand('valdate');
    // Positive control: after `--` the same word is a server, and the marker appears.
    toolgate(['-c', policy, '--state-dir', join(tempDir(), 's'), '--', 'valdate'], env);
    assert.ok(existsSync(marker), 'the marker command runs when it is the server');

    const again = markerCommand('valdate');
    const r = toolgate(['valdate', '-c', policy], again.env);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /unknown command 'valdate' \(did you mean 'validate'\?\)/);
    assert.equal(existsSync(again.marker), false, 'no server was started');
  });

  it('an unknown word with nothing close names the -- form', () => {
    const r = toolgate(['frobnicate']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown command 'frobnicate'.*after '--': toolgate -c policy.yaml -- frobnicate/);
  });

  it('a server command without -- is refused with the fixed command line', () => {
    const { policy } = writePolicy(POLICY);
    const { env, marker } = markerCommand('myserver');
    const r = toolgate(['-c', policy, 'myserver', 'data'], env);
    assert.equal(r.status, 2, r.stderr);
    assert.ok(r.stderr.includes(`toolgate -c ${policy} -- myserver data`), r.stderr);
    assert.match(r.stderr, /toolgate run/);
    assert.equal(existsSync(marker), false);
  });

  it("server flags without -- get a hint naming the fix, not only commander's unknown option", () => {
    const { policy } = writePolicy(POLICY);
    const r = toolgate(['-c', policy, 'npx', '-y', '@modelcontextprotocol/server-memory']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /unknown option '-y'/);
    assert.ok(r.stderr.includes(`Did you forget '--'`), r.stderr);
    assert.ok(r.stderr.includes(`toolgate -c ${policy} -- npx -y @modelcontextprotocol/server-memory`), r.stderr);
  });

  it('`toolgate run` takes the server from its first word on, for clients that strip --', async () => {
    const { policy, stateDir } = writePolicy(POLICY);
    const r = toolgate(['run', '-c', policy, '--state-dir', stateDir, process.execPath, '-e', 'process.exit(7)']);
    assert.equal(r.status, 7, r.stderr);
  });
});

describe('help', () => {
  it('`toolgate help validate` prints the help of validate', () => {
    const r = toolgate(['help', 'validate']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Usage: toolgate validate/);
  });

  it('`toolgate help pins accept` and `toolgate help` work too', () => {
    assert.match(toolgate(['help', 'pins', 'accept']).stdout, /^Usage: toolgate pins accept/);
    const top = toolgate(['help']);
    assert.equal(top.status, 0);
    assert.match(top.stdout, /^Usage: toolgate/);
  });

  it('every command (the gateway too) ends its --help with examples of itself', async () => {
    const program = await buildProgram();
    const paths = [...walk(program)].map(commandPath);
    assert.ok(paths.length > 30, `the whole tree is loaded (${paths.length})`);
    for (const path of paths) {
      const r = toolgate([...(path ? path.split(' ') : []), '--help']);
      assert.equal(r.status, 0, `${path}: ${r.stderr}`);
      const examples = r.stdout.trimEnd().split('\nExamples:\n')[1];
      assert.ok(examples, `toolgate ${path} --help ends with examples`);
      for (const line of examples.split('\n')) assert.match(line, new RegExp(`^  \\$ toolgate ${path}`), `toolgate ${path}: ${line}`);
    }
  });
});

describe('output', () => {
  /** The first line of `stream` that contains `needle` (the process is left to the caller). */
  const lineWith = async (stream: NodeJS.ReadableStream, needle: string): Promise<string> => {
    for await (const line of createInterface({ input: stream })) if (line.includes(needle)) return line;
    throw new Error(`the output ended without "${needle}"`);
  };

  it('without --log-format, logs are text on a terminal and JSON in a pipe', async () => {
    const { policy, stateDir } = writePolicy(POLICY);
    const argv = [process.execPath, bin, '-c', policy, '--state-dir', stateDir, '--', process.execPath, demoServer];
    // util-linux `script` runs the gateway on a pseudo-terminal: its stderr is a TTY.
    const onTty = spawn('script', ['-qec', argv.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' '), '/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const text = await lineWith(onTty.stdout, 'toolgate started').finally(() => onTty.kill());
    assert.match(text, /INFO.*toolgate started/);
    assert.ok(!text.includes('"msg"'), text);
    // Positive control: the same start in a pipe logs JSON.
    const inPipe = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'ignore', 'pipe'] });
    const json = await lineWith(inPipe.stderr, 'toolgate started').finally(() => inPipe.kill());
    assert.equal((JSON.parse(json) as { msg: string }).msg, 'toolgate started');
  });

  it('a reader that closes stdout early ends the command quietly', async () => {
    const child = spawn(process.execPath, [bin, 'completion', 'fish'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    assert.equal(stderr, '');
    assert.equal(code, 0);
  });

  it('--log-format json has one pid per line; text is readable lines', async () => {
    const { policy, stateDir } = writePolicy(POLICY);
    const lines = async (format: string) => {
      const child = spawn(
        process.execPath,
        [bin, '-c', policy, '--state-dir', stateDir, '--transport', 'http', '--port', '0', '--log-format', format, '--', process.execPath, demoServer],
        {
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      const seen: string[] = [];
      const rl = createInterface({ input: child.stderr });
      for await (const line of rl) {
        seen.push(line);
        const url = /listening on (\S+)/.exec(line)?.[1];
        if (url) {
          // A session starts a server: its 'session opened' line names the server's pid.
          await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
            body: JSON.stringify({
              jsonrpc: '2.0',
              id: 1,
              method: 'initialize',
              params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
            }),
          }).then((r) => r.text());
        }
        if (line.includes('session opened')) break;
      }
      child.kill();
      return seen;
    };
    const json = await lines('json');
    const opened = json.find((l) => l.includes('session opened'))!;
    assert.equal(opened.match(/"pid":/g)?.length, 1, opened);
    const parsed = JSON.parse(opened) as Record<string, unknown>;
    assert.equal(typeof parsed.server_pid, 'number');

    const text = await lines('text');
    const line = text.find((l) => l.includes('session opened'))!;
    assert.ok(!line.trimStart().startsWith('{'), line);
    assert.match(line, /INFO.*session opened/);
  });
});

describe('completion', () => {
  const script = (shell: string) => toolgate(['completion', shell]).stdout;

  it('bash completes commands, subcommands and options', () => {
    const complete = (words: string[]) =>
      spawnSync(
        'bash',
        [
          '-c',
          `source /dev/stdin <<'EOF'\n${script('bash')}\nEOF\nCOMP_WORDS=(${words.join(' ')}); COMP_CWORD=${words.length - 1}; _toolgate; echo "\${COMPREPLY[@]}"`,
        ],
        { encoding: 'utf8' },
      ).stdout.trim();
    assert.equal(complete(['toolgate', 'val']), 'validate');
    assert.equal(complete(['toolgate', 'pins', 'ac']), 'accept');
    assert.equal(complete(['toolgate', 'pins', 'accept', '--ser']), '--server');
    assert.equal(complete(['toolgate', '--log-f']), '--log-format');
  });

  it('zsh and fish scripts name every command', () => {
    assert.match(script('zsh'), /^#compdef toolgate\n[\s\S]*bashcompinit[\s\S]*complete -o default -F _toolgate toolgate/);
    const fish = script('fish');
    for (const cmd of ['validate', 'serve', 'completion']) assert.match(fish, new RegExp(`-n '__fish_use_subcommand[^']*' -a ${cmd} -d`), cmd);
    assert.ok(fish.includes(`-n '__fish_seen_subcommand_from pins; and not __fish_seen_subcommand_from`), fish.slice(0, 400));
  });

  it('an unknown shell is a usage error', () => {
    const r = toolgate(['completion', 'powershell']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /Allowed choices are bash, zsh, fish/);
  });
});
