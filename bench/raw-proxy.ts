// The floor of any stdio proxy on this machine: a process that copies bytes
// both ways between its stdio and a child's, with no parsing and no policy.
import { spawn } from 'node:child_process';

const [command, ...args] = process.argv.slice(2);
if (!command) throw new Error('usage: raw-proxy <command...>');
const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
process.stdin.on('data', (d: Buffer) => child.stdin.write(d));
process.stdin.on('end', () => child.stdin.end());
child.stdout.on('data', (d: Buffer) => process.stdout.write(d));
child.on('exit', (code) => process.exit(code ?? 1));
