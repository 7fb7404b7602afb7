import { askQuestion } from './fake-model';
import type { AttemptContext, ResumePoint } from './attempt-context';
import { restAttempt, restStop } from './rest-load';
import { sleep, type Random } from './random';
import type { Attempt, ClientFault, SendRecord, Transport } from './send-record';
import { sseAttempt } from './sse-load';
import { trpcSendAttempt, trpcStop, trpcStreamAttempt } from './trpc-load';

export interface TabOptions {
  user: string;
  tab: number;
  token: string;
  random: Random;
  instances: ReadonlyArray<{ name: string; url: string }>;
  /** Records every question asked, as it is asked. */
  records: SendRecord[];
  /** Counts the stops the tab asked for and the server accepted. */
  stops: { count: number };
  /** Aborted when the load phase ends: the tab finishes the question it is on, then leaves. */
  loadEnded: AbortSignal;
  /** Aborted when the drain has taken too long: requests still open are dropped. */
  abandon: AbortSignal;
}

/** Enough for a dead instance's turn to be recovered (lease 6 s + sweep 2 s) and resumed on a loaded machine. */
const ATTEMPT_DEADLINE_MS = 30_000;
const MAX_ATTEMPTS = 6;
const TRANSPORTS: Record<Transport, number> = { rest: 2, sse: 3, 'trpc-stream': 3, 'trpc-send': 1 };
const STREAMING: ReadonlySet<Transport> = new Set(['sse', 'trpc-stream']);
/** Codes that say "not now" (an instance restarting, the database or Redis away): the same key is sent again. */
const TRANSIENT =
  /^(5\d\d|SERVICE_UNAVAILABLE|DATABASE_UNAVAILABLE|SHUTTING_DOWN|UPSTREAM_UNAVAILABLE|404|NOT_FOUND|TIMEOUT)\b/;

/**
 * One browser tab: asks a question, waits for the answer on one of the four ways in, and on a failure sends
 * the same idempotency key again (or resumes the stream), as the web client does. Both of a user's tabs use
 * the user's default thread, so their turns queue behind each other.
 */
export async function runTab(options: TabOptions): Promise<void> {
  for (let n = 0; !options.loadEnded.aborted; n++) {
    await ask(options, `${options.user}-t${options.tab}-${n}`);
    await sleep(options.random.int(0, 400));
  }
}

async function ask(options: TabOptions, key: string): Promise<void> {
  const { random } = options;
  const question = askQuestion(random, key);
  // `double`: the first request goes out twice at once (a double click, two tabs), under the one key.
  const plan = random.weighted<ClientFault | 'double'>({ none: 10, drop: 3, stop: 2, double: 1 });
  const double = plan === 'double';
  const record: SendRecord = {
    user: options.user,
    tab: options.tab,
    question,
    fault: double ? 'none' : plan,
    attempts: [],
  };
  options.records.push(record);

  let resume: { transport: Transport; point: ResumePoint } | undefined;
  for (let i = 0; i < MAX_ATTEMPTS && !options.abandon.aborted; i++) {
    const fault: ClientFault = i === 0 ? record.fault : 'none';
    const attempts =
      double && i === 0
        ? await Promise.all([
            attempt(options, record, 'send', fault),
            attempt(options, record, 'send', fault),
          ])
        : [await attempt(options, record, resume ? 'resume' : 'send', fault, resume)];
    record.attempts.push(...attempts);
    if (attempts.some((a) => a.outcome === 'acked')) break;
    const last = attempts[attempts.length - 1]!;
    if (last.outcome === 'refused' && !TRANSIENT.test(last.error ?? '')) break;
    if (last.outcome === 'dropped' && random.chance(0.2)) break;
    const resumable = STREAMING.has(last.transport) && last.turnId && last.lastEventId;
    resume =
      resumable && last.outcome !== 'refused' && random.chance(0.5)
        ? {
            transport: last.transport,
            point: { turnId: last.turnId!, lastEventId: last.lastEventId!, text: last.text },
          }
        : undefined;
    await sleep(random.int(200, 800));
  }
  if (record.attempts.some((a) => a.outcome === 'acked') && random.chance(0.1) && !options.abandon.aborted) {
    record.attempts.push(await attempt(options, record, 'replay', 'none'));
  }
}

/** One request, with the client fault (a drop or a stop) applied after some tokens, or some time for POSTs. */
async function attempt(
  options: TabOptions,
  record: SendRecord,
  kind: Attempt['kind'],
  fault: ClientFault,
  resume?: { transport: Transport; point: ResumePoint },
): Promise<Attempt> {
  const { random } = options;
  const instance = random.pick(options.instances);
  const transport = resume?.transport ?? random.weighted(TRANSPORTS);
  const dropper = new AbortController();
  const onAbandon = () => dropper.abort();
  options.abandon.addEventListener('abort', onAbandon, { once: true });
  const pending: Array<Promise<unknown>> = [];
  const act = () => {
    if (fault === 'drop') dropper.abort();
    if (fault === 'stop') pending.push(stop(options));
  };
  const atToken = random.int(1, 25);
  const context: AttemptContext = {
    instance,
    token: options.token,
    question: record.question,
    drop: dropper.signal,
    deadlineMs: ATTEMPT_DEADLINE_MS,
    onToken: (count) => {
      if (count === atToken) act();
    },
  };
  const timer =
    !STREAMING.has(transport) && fault !== 'none' ? setTimeout(act, random.int(100, 2_000)) : undefined;
  try {
    switch (transport) {
      case 'rest':
        return await restAttempt(context, kind);
      case 'trpc-send':
        return await trpcSendAttempt(context, kind);
      case 'sse':
        return await sseAttempt(context, kind, resume?.point);
      case 'trpc-stream':
        return await trpcStreamAttempt(context, kind, resume?.point);
    }
  } finally {
    clearTimeout(timer);
    options.abandon.removeEventListener('abort', onAbandon);
    await Promise.all(pending);
  }
}

/** Stops the user's reply in flight, over REST or tRPC, on any instance (it reaches the owner either way). */
async function stop(options: TabOptions): Promise<void> {
  const instance = options.random.pick(options.instances);
  const stopped = options.random.chance(0.5)
    ? await restStop(instance.url, options.token)
    : await trpcStop(instance.url, options.token);
  if (stopped) options.stops.count++;
}
