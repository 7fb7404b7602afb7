/**
 * Parts 8-13, the figures and targets of issue 12, each a ratio to a baseline measured in the same run:
 *   8. transport-throughput.ts  turns/s over tRPC WS, SSE and POST /chat at c=1/10/50 ÷ baseline A (raw-PGlite
 *                               on PGlite), and server CPU per turn ÷ baseline A's process  (child processes)
 *   9. open-loop-ttft.ts        added TTFT p50/p99 at Poisson arrivals of half baseline A's capacity vs the
 *                               openai SDK calling the fake directly                        (server in a child)
 *  10. concurrent-streams.ts    extra RSS per stream with 500 streaming vs a bare `ws` server pushing the
 *                               same frames                                                 (child processes)
 *  11. rss-soak.ts              server RSS over a mixed load after warm-up, --soak-minutes (10 by default)
 *  12. (transport-throughput)   FixThread SSE ÷ a Vercel AI SDK server at c=1/10/50 (Postgres only)
 *  13. wire-bytes.ts            bytes on the wire per token over tRPC WS and SSE
 */
import { measureConcurrentStreams, reportConcurrentStreams } from './concurrent-streams';
import { measureOpenLoopTtft, reportOpenLoopTtft, type OpenLoopTtftResult } from './open-loop-ttft';
import { measureRssSoak, reportRssSoak } from './rss-soak';
import { startBenchSession } from './support/bench-session';
import { addSummaryRow } from './support/summary';
import type { BenchDriver } from './support/databases';
import {
  baselineCapacity,
  measureTransportThroughput,
  reportTransportThroughput,
  type TransportThroughputResult,
} from './transport-throughput';
import { measureWireBytes, reportWireBytes, type WireBytesResult } from './wire-bytes';

export interface Issue12Parts {
  parts: Set<number>;
  soakMinutes: number;
  timed: <T>(label: string, work: () => Promise<T>) => Promise<T>;
}

/**
 * A part that fails (a sanity check, a socket the loaded machine let time out) is reported in the summary and
 * the run goes on, so one bad part does not cost the other figures of a long run.
 */
async function attempt<T>(label: string, work: () => Promise<T>): Promise<T | undefined> {
  try {
    return await work();
  } catch (error) {
    console.error(`${label} failed:`, error);
    addSummaryRow({ figure: `${label}: FAILED (${error instanceof Error ? error.message : String(error)})`, fixthread: '-', baseline: '-', ratio: '-', target: '-', met: false });
    return undefined;
  }
}

export async function runIssue12Parts(drivers: BenchDriver[], { parts, soakMinutes, timed }: Issue12Parts): Promise<void> {
  const throughput: TransportThroughputResult[] = [];
  const ttft: OpenLoopTtftResult[] = [];
  const wire: WireBytesResult[] = [];
  const run = <T>(label: string, work: () => Promise<T>) => attempt(label, () => timed(label, work));
  for (const driver of drivers) {
    const peerOnly = parts.has(12) && driver.name === 'postgres';
    if (![8, 9, 13].some((part) => parts.has(part)) && !peerOnly) continue;
    const session = await run(`${driver.name}: parts 8-13, starting server, baseline and peer`, () =>
      startBenchSession(driver, { withPeer: parts.has(12) }),
    );
    if (!session) continue;
    try {
      // Part 9's arrival rate comes from baseline A's capacity, so the baseline runs whenever part 9 does.
      const measured =
        parts.has(8) || parts.has(9) || (parts.has(12) && session.peer)
          ? await run(`${driver.name}: parts 8/12, turns/s by transport and concurrency`, () =>
              measureTransportThroughput(session, {
                throughput: parts.has(8),
                baseline: parts.has(8) || parts.has(9),
                peer: parts.has(12),
              }),
            )
          : undefined;
      if (measured && (parts.has(8) || parts.has(12))) throughput.push(measured);
      if (measured && parts.has(9)) {
        const rate = baselineCapacity(measured) / 2;
        const result = await run(`${driver.name}: part 9, open-loop TTFT`, () => measureOpenLoopTtft(session, rate));
        if (result) ttft.push(result);
      }
      if (parts.has(13) && driver === drivers[0]) {
        const result = await run(`${driver.name}: part 13, bytes per token`, () => measureWireBytes(session));
        if (result) wire.push(result);
      }
    } finally {
      await session.close();
    }
  }
  const streams = parts.has(10)
    ? await run(`${drivers[0]!.name}: part 10, 500 concurrent streams`, () => measureConcurrentStreams(drivers[0]!))
    : undefined;
  const soakDriver = drivers.find((d) => d.name === 'postgres') ?? drivers[0]!;
  const soak = parts.has(11)
    ? await run(`${soakDriver.name}: part 11, RSS soak (${soakMinutes} min)`, () => measureRssSoak(soakDriver, soakMinutes))
    : undefined;

  if (throughput.length > 0) {
    console.log('\nParts 8 and 12 — turns/s by transport and concurrency vs baseline A (and the AI SDK peer), server in a child process');
    reportTransportThroughput(throughput);
  }
  if (ttft.length > 0) {
    console.log('\nPart 9 — added time to first token at open-loop Poisson arrivals of half baseline A\'s capacity');
    reportOpenLoopTtft(ttft);
  }
  if (streams) {
    console.log('\nPart 10 — 500 concurrent streams: extra server RSS per stream vs a bare ws server pushing the same frames');
    reportConcurrentStreams(streams);
  }
  if (soak) {
    console.log(`\nPart 11 — server RSS over ${soakMinutes} min of mixed load (server in a child process)`);
    reportRssSoak(soak);
  }
  if (wire.length > 0) {
    console.log('\nPart 13 — bytes on the wire per token');
    reportWireBytes(wire);
  }
}
