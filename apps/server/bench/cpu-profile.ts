/**
 * `--cpu-prof`: where the server's CPU per turn goes. The server child's V8 CPU profiler (the one `node --cpu-prof`
 * drives, here started and stopped over the inspector so start-up and module loading stay out) runs while 10
 * users do sequential tRPC chat.stream turns for PROFILE_MS (on Postgres when TEST_DATABASE_URL is set); then
 * the functions and packages with the most self time are printed. The .cpuprofile is kept (its path is
 * printed) for Chrome DevTools or speedscope.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBenchSession } from './support/bench-session';
import { runClosedLoop } from './support/closed-loop';
import type { BenchDriver } from './support/databases';
import { SHORT_REPLY } from './support/fake-model';
import { subscribeChatStream } from './support/raw-sockets';
import { fixed, printTable, sanity } from './support/stats';

const PROFILE_MS = 15_000;
const USERS = 10;
const TOP = 30;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export async function profileTrpcTurns(drivers: BenchDriver[]): Promise<void> {
  const driver = drivers.find((d) => d.name === 'postgres') ?? drivers[0]!;
  const dir = mkdtempSync(join(tmpdir(), 'fixthread-cpu-prof-'));
  const session = await startBenchSession(driver, { withPeer: false });
  const path = join(dir, 'server-trpc-c10.cpuprofile');
  let turns = 0;
  try {
    const sockets = await session.sockets('prof-ws', USERS);
    let id = 1;
    const turn = async (user: number, n: number) => {
      const { text } = await subscribeChatStream(sockets[user]!, id++, `Profile question ${n}`);
      sanity(text === SHORT_REPLY, 'profiled turn streamed a different reply');
      turns++;
    };
    await runClosedLoop(USERS, 2_000, turn, () => 0);
    await session.server.profile('start');
    turns = 0; // every turn that finishes while the profiler runs, ramp and stragglers included
    await runClosedLoop(USERS, PROFILE_MS, turn, () => 0);
    await session.server.profile('stop', path);
  } finally {
    await session.close();
  }
  console.log(`\nCPU profile of the server child, ${driver.name}, ${USERS} users over tRPC WS, ${turns} turns in ${PROFILE_MS / 1000} s: ${path}`);
  reportProfile(JSON.parse(readFileSync(path, 'utf8')) as CpuProfile, turns);
}

function reportProfile(profile: CpuProfile, turns: number): void {
  const byNode = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((nodeId, i) => selfUs.set(nodeId, (selfUs.get(nodeId) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  for (const [nodeId, us] of selfUs) {
    const frame = byNode.get(nodeId)!.callFrame;
    const where = shortUrl(frame.url);
    const name = `${frame.functionName || '(anonymous)'} ${where}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    const pkg = packageOf(frame.url, frame.functionName);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
  }
  const idle = byFunction.get('(idle) ') ?? 0;
  const busy = total - idle;
  const table = (entries: Map<string, number>, limit: number) =>
    [...entries]
      .filter(([name]) => !name.startsWith('(idle)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, us]) => [name, fixed((us / busy) * 100, 1), fixed(us / 1000 / turns, 3)]);
  console.log(`  busy ${fixed(busy / 1000, 0)} ms of ${fixed(total / 1000, 0)} ms sampled; ${fixed(busy / 1000 / turns, 2)} ms CPU per turn`);
  printTable(['self time by package / area', '% of busy', 'ms/turn'], table(byPackage, 20), 1);
  console.log('');
  printTable(['function (self time)', '% of busy', 'ms/turn'], table(byFunction, TOP), 1);
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) return url.slice(modules + 'node_modules/'.length).replace(/^\.pnpm\/[^/]+\/node_modules\//, '');
  const src = url.search(/(packages|apps)\//);
  return src >= 0 ? url.slice(src) : url.replace(/^file:\/\//, '');
}

function packageOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return url;
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const src = url.match(/(packages\/[^/]+\/src\/[^/]+|apps\/[^/]+\/src\/[^/]+)/);
  return src ? src[1]! : url;
}
