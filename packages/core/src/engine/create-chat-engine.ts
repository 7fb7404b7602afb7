import { createHash, randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import { createDatabaseGuard } from '../db/database-guard';
import { rowLevelSecurity } from '../db/row-level-security';
import { inProcessLiveEvents } from '../live/in-process-live-events';
import type { ControlMessage } from '../live/live-events';
import { ConflictError, NotFoundError, QuotaExceeded, ValidationError } from '../errors';
import { clearThread, history, stats } from '../store/messages';
import { threadIdFor } from '../store/thread-id';
import {
  claimTurn,
  createTurn,
  deleteQueuedTurn,
  findTurn,
  findTurnByKey,
  liveTurnCount,
  requestStop,
  startTurnNow,
  type Question,
  type StartedTurn,
  type TurnRecord,
} from '../store/turns';
import { totalTokens } from '../store/usage';
import { dailyBudget } from './daily-budget';
import type { SessionLimits } from '../limits/session-limits';
import { countTokens } from '../tokens';
import type { ChatEngineOptions } from './options';
import { contextBudget } from './build-prompt';
import { fixedPromptTokens, runTurn, type TurnDependencies } from './run-turn';
import { storedTurn } from './stored-turn';
import { ThreadQueue } from './thread-queue';
import { titleThread } from './thread-titles';
import { conversationsApi } from './conversations-api';
import { threadAccess } from './thread-access';
import { createToolbox } from './tools/toolbox';
import { TurnLog } from './turn-log';
import { DEFAULT_TURN_TIMING, startTurnMaintenance } from './turn-maintenance';
import { TurnRegistry, type LocalTurn } from './turn-registry';
import { NO_TURN_OBSERVER, type TurnMode } from './turn-observer';
import type { ChatEngine, SendOptions, Turn } from './types';
import { validateAttachmentIds } from './validate-attachments';
import { validateCaption, validateMessage } from './validate-message';
import { attachmentsApi } from './attachments-api';
import { DEFAULT_IMAGE_LIMITS } from '../attachments/image-limits';

export const HISTORY_LIMIT_MAX = 200;
export const HISTORY_LIMIT_DEFAULT = 50;
const DEFAULT_LLM_TIMEOUT_MS = 60_000;
const MAX_CLIENT_MESSAGE_ID_LENGTH = 255;

/**
 * The engine's facade. A turn is a record in the database (`turns`): sending creates it (or finds the one the
 * client's key already names), the thread's next free slot starts it (across processes), `runTurn` streams
 * and saves it, and any process can read it back. What lives here is only this process's share: the turns it
 * runs (`TurnRegistry`), its place in each thread's line (`ThreadQueue`), and the timers that keep its leases.
 */
export function createChatEngine(options: ChatEngineOptions): ChatEngine {
  // Every query below runs confined to one user's rows; maintenance alone spans users (`ScopedDatabase`).
  const scoped = rowLevelSecurity(options.db);
  const userDb = (userId: string) => scoped.forUser(userId);
  const observer = options.observer ?? NO_TURN_OBSERVER;
  const guard = createDatabaseGuard(options.databaseDeadlineMs ?? null, () => observer.databaseOperationStarted());
  const owner = options.instanceId ?? randomUUID();
  const timing = { ...DEFAULT_TURN_TIMING, ...options.turnTiming };
  const toolbox = createToolbox(options.tools);
  const llm = options.llm;
  const live = options.live ?? inProcessLiveEvents();
  const deps: Omit<TurnDependencies, 'db'> = {
    guard,
    owner,
    live,
    llm: llm
      ? {
          model: llm.model,
          idleTimeoutMs: llm.timeoutMs ?? DEFAULT_LLM_TIMEOUT_MS,
          client: new OpenAI({
            apiKey: llm.apiKey,
            baseURL: llm.baseURL,
            maxRetries: llm.maxRetries ?? 2,
            timeout: llm.timeoutMs ?? DEFAULT_LLM_TIMEOUT_MS,
          }),
        }
      : null,
    toolbox,
    maxToolRounds: options.tools.maxRounds,
    systemPrompt: options.systemPrompt,
    fixedPromptTokens: fixedPromptTokens(options.systemPrompt, toolbox, llm !== null),
    maxContextTokens: options.maxContextTokens,
    offlineTokenDelayMs: options.offlineTokenDelayMs ?? 12,
    observer,
  };
  const budget = dailyBudget({
    userDb,
    guard,
    quota: options.dailyTokenQuota ?? null,
    withModel: llm !== null,
    fixedPromptTokens: deps.fixedPromptTokens,
    maxContextTokens: options.maxContextTokens,
  });
  const registry = new TurnRegistry();
  const queue = new ThreadQueue();
  const maintenance = startTurnMaintenance({
    db: scoped.maintenance,
    guard,
    owner,
    registry,
    timing,
    sweepReservations: options.dailyTokenQuota != null,
  });
  const threads = threadAccess({ userDb, guard });
  const stored = (record: TurnRecord) => storedTurn({ db: userDb(record.userId), guard, live, pollMs: timing.pollMs }, record);
  // A stop or clear asked on any instance reaches the turns this one runs (its own included, harmlessly twice).
  const unsubscribe = live.onControl((message) => registry.stopUser(message.userId, message.threadId));

  type Asked = { mode: 'ask' | 'edit'; message: string } | { mode: 'regenerate' };

  function startTurn(userId: string, message: string, options: SendOptions = {}): Promise<Turn> {
    return begin(userId, { mode: 'ask', message }, options);
  }

  async function begin(userId: string, asked: Asked, { clientMessageId, threadId: askedThread, attachments }: SendOptions): Promise<Turn> {
    const photos = validateAttachmentIds(attachments);
    if (asked.mode === 'regenerate' && photos !== undefined) {
      throw new ValidationError('Regenerating answers the question as it was asked; edit it to change its photos', 'attachments');
    }
    const text =
      asked.mode === 'regenerate'
        ? ''
        : photos?.length
          ? validateCaption(asked.message, options.maxMessageChars)
          : validateMessage(asked.message, options.maxMessageChars);
    const key = validateClientMessageId(clientMessageId);
    const messageHash = sha256(hashedQuestion(asked.mode, text, photos));
    const retry = () => begin(userId, asked, { clientMessageId, threadId: askedThread, attachments });
    // Registered before anything is awaited, so stop() and clear() reach a turn from the moment it is asked for.
    const local = newLocalTurn(randomUUID(), userId);
    registry.add(local);
    const turn = { id: local.id, clientMessageId: key, messageHash, owner, leaseMs: timing.leaseMs };
    let release: (() => void) | undefined;
    try {
      local.threadId = await threads.resolve(userId, askedThread);
      if (asked.mode !== 'ask') await threads.expectLastQuestion(userId, local.threadId, asked.mode);
      const question: Question = {
        userId,
        threadId: local.threadId,
        content: text,
        contentTokens: countTokens(text),
        mode: asked.mode,
        attachments: photos,
      };
      const repeated = await admitUnlessRepeated(userId, key, () =>
        budget.reserve({ turnId: local.id, userId, threadId: local.threadId, questionTokens: question.contentTokens }),
      );
      if (repeated) {
        local.settle();
        if (repeated.messageHash !== messageHash) {
          throw new ConflictError('This idempotency key was already used for a different message');
        }
        return (await existingTurn(repeated)) ?? retry();
      }
      // The common case, a free thread: the turn and its question in one statement.
      release = queue.tryAcquire(local.threadId);
      const window = { maxTokens: contextBudget(deps) };
      const started = release ? await guard(() => startTurnNow(userDb(userId), turn, question, window), 'start_turn') : undefined;
      if (started) return runLocalTurn(local, started, release!, text, asked.mode);
      const found = await guard(() => createTurn(userDb(userId), { ...turn, userId, threadId: local.threadId }), 'queue_turn');
      if (found.created) {
        const held = release;
        release = undefined;
        return await queueLocalTurn(local, question, held);
      }
      release?.();
      release = undefined;
      local.settle();
      await budget.release(userId, local.id);
      if (found.turn.messageHash !== messageHash) {
        throw new ConflictError('This idempotency key was already used for a different message');
      }
      return (await existingTurn(found.turn)) ?? retry();
    } catch (error) {
      release?.();
      local.settle();
      // Never started, so it charged nothing: what it set aside goes back (the sweep's job if the database is away).
      await budget.release(userId, local.id).catch(() => {});
      throw error;
    }
  }

  /**
   * A spent quota refuses new turns, not the answer to one already asked: a key repeated after its turn used
   * up the quota still gets that turn. Looked up only when the quota refuses, so sends pay nothing for it.
   */
  async function admitUnlessRepeated(userId: string, key: string | null, reserve: () => Promise<void>): Promise<TurnRecord | undefined> {
    try {
      await admit(userId);
      await reserve();
      return undefined;
    } catch (error) {
      if (!(error instanceof QuotaExceeded) || key === null) throw error;
      const repeated = await guard(() => findTurnByKey(userDb(userId), userId, key));
      if (!repeated) throw error;
      return repeated;
    }
  }

  async function admit(userId: string): Promise<void> {
    const quota = options.tokenQuota;
    if (quota !== null && (await guard(() => totalTokens(userDb(userId), userId), 'quota_used')) >= quota) {
      throw new QuotaExceeded(`Token quota of ${quota} exhausted`);
    }
  }

  type PendingLocalTurn = LocalTurn & { begin(userMessageId: number): void; refuse(error: unknown): void; settle(): void };

  function newLocalTurn(id: string, userId: string): PendingLocalTurn {
    let begin!: (userMessageId: number) => void;
    let refuse!: (error: unknown) => void;
    let settled!: () => void;
    const started = new Promise<number>((resolve, reject) => {
      begin = resolve;
      refuse = reject;
    });
    started.catch(() => {});
    return {
      id,
      userId,
      threadId: threadIdFor(userId),
      controller: new AbortController(),
      log: new TurnLog(),
      started,
      settled: new Promise<void>((resolve) => (settled = resolve)),
      begin,
      refuse,
      settle: () => {
        registry.remove(id);
        settled();
      },
    };
  }

  /** The turn has started (its question is stored): run it in the background and hand back its handle. */
  function runLocalTurn(local: PendingLocalTurn, started: StartedTurn, release: () => void, question: string, mode: TurnMode): Turn {
    const { userMessageId } = started;
    local.begin(userMessageId);
    void registry.track(
      (async () => {
        try {
          const { closed } = await runTurn({ ...deps, db: userDb(local.userId) }, {
            ...local,
            userMessageId,
            mode,
            context: started.context,
            signal: local.controller.signal,
            abort: (reason) => local.controller.abort(reason),
          });
          if (closed) live.end(local.id);
          else registry.abandon(local.id);
        } finally {
          release();
          local.settle();
        }
        if (started.untitled) await nameThread(local, question);
      })(),
    );
    return localTurn(local, userMessageId);
  }

  /** After its first answer a thread is named; a question regenerated or edited is read from the thread. */
  async function nameThread(local: LocalTurn, question: string): Promise<void> {
    try {
      await local.log.done;
      const asked = question || (await guard(() => history(userDb(local.userId), local.userId, { threadId: local.threadId, limit: 2 })))
        .find((m) => m.role === 'user')?.content;
      if (!asked) return;
      const job = { userId: local.userId, threadId: local.threadId, turnId: local.id, question: asked, answer: local.log.text() };
      await titleThread({ db: userDb(local.userId), guard, llm: options.titles === 'heuristic' ? null : deps.llm }, job);
    } catch {
      // Failed or stopped before it answered, or the database is away: the next answer tries again.
    }
  }

  /** Waits for the thread behind this process's earlier turns and any other process's running one. */
  async function queueLocalTurn(local: PendingLocalTurn, question: Question, held: (() => void) | undefined): Promise<Turn> {
    let release = held;
    try {
      release ??= await queue.acquire(local.threadId);
      const started = await claimWhenFree(local.id, question);
      return runLocalTurn(local, started, release, question.content, question.mode ?? 'ask');
    } catch (error) {
      release?.();
      local.refuse(error);
      // It never started, so it stored nothing: its key is free for the client's retry.
      await guard(() => deleteQueuedTurn(userDb(local.userId), local.id)).catch(() => {});
      throw error;
    }
  }

  async function claimWhenFree(turnId: string, question: Question): Promise<StartedTurn> {
    for (;;) {
      await admit(question.userId);
      const started = await guard(
        () => claimTurn(userDb(question.userId), { turnId, owner, leaseMs: timing.leaseMs, abandoned: registry.abandoned(), question }),
        'claim_turn',
      );
      if (started) return started;
      // Regenerating or editing needs a question to replace; one cleared while this waited is gone for good.
      if (question.mode && question.mode !== 'ask') await threads.expectLastQuestion(question.userId, question.threadId, question.mode);
      // Another process holds the thread: it says nothing when it is done, so look again shortly.
      await new Promise((resolve) => setTimeout(resolve, timing.pollMs));
    }
  }

  /**
   * The turn a repeated key names: followed live when this process runs it, from its record otherwise.
   * Undefined when it was never started (refused, or its instance died while it was queued), so the
   * retry is a new send.
   */
  async function existingTurn(record: TurnRecord): Promise<Turn | undefined> {
    const local = registry.get(record.id);
    if (local) {
      try {
        return localTurn(local, await local.started);
      } catch {
        return undefined;
      }
    }
    let current: TurnRecord | undefined = record;
    while (current?.status === 'queued') {
      await new Promise((resolve) => setTimeout(resolve, timing.pollMs));
      current = await guard(() => findTurn(userDb(record.userId), record.userId, record.id));
    }
    return current ? stored(current) : undefined;
  }

  /**
   * This instance's turns stop at once; another's hear it over pub/sub at once, and from the database at its
   * next lease renewal if pub/sub cannot reach it (no Redis, or Redis down).
   */
  async function stopEverywhere(message: ControlMessage): Promise<boolean> {
    const here = registry.stopUser(message.userId, message.threadId);
    const marked = await guard(() => requestStop(userDb(message.userId), message.userId, message.threadId));
    await live.broadcast(message);
    return here || marked > 0;
  }

  /** Before a thread's messages are deleted: replies still streaming or queued would land after it. */
  async function settleThread(userId: string, threadId: string): Promise<void> {
    const pending = registry.ofUser(userId, threadId);
    await stopEverywhere({ type: 'clear', userId, threadId });
    await Promise.all(pending.map((turn) => turn.settled));
    await untilNoLiveTurns(userId, threadId);
  }

  /**
   * Turns other instances run end within milliseconds of hearing of the stop, so this looks often; a dead
   * instance's end once recovered, which bounds the wait.
   */
  async function untilNoLiveTurns(userId: string, threadId: string): Promise<void> {
    const deadline = Date.now() + timing.leaseMs + timing.sweepMs + timing.renewMs;
    while ((await guard(() => liveTurnCount(userDb(userId), userId, threadId))) > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(timing.pollMs, 25)));
    }
  }

  function localTurn(local: LocalTurn, userMessageId: number): Turn {
    return {
      id: local.id,
      threadId: local.threadId,
      userMessageId,
      events: ({ signal, afterSeq } = {}) => local.log.read(signal, afterSeq),
      done: local.log.done,
      stop: () => local.controller.abort(),
    };
  }

  return {
    startTurn,

    regenerate: (userId, sendOptions = {}) => begin(userId, { mode: 'regenerate' }, sendOptions),

    edit: (userId, message, sendOptions = {}) => begin(userId, { mode: 'edit', message }, sendOptions),

    ...conversationsApi({ userDb, guard, threads, settleThread }),

    ...attachmentsApi({ userDb, guard, limits: options.imageLimits ?? DEFAULT_IMAGE_LIMITS }),

    async send(userId, message, sendOptions) {
      const turn = await startTurn(userId, message, sendOptions);
      const response: string[] = [];
      for await (const { event } of turn.events()) {
        if (event.type === 'token') response.push(event.content);
      }
      return { response: response.join(''), thread_id: turn.threadId, turn_id: turn.id };
    },

    async resume(userId, turnId) {
      const local = registry.get(turnId);
      if (local?.userId === userId) return localTurn(local, await local.started);
      const record = await guard(() => findTurn(userDb(userId), userId, turnId));
      if (!record) throw new NotFoundError('No such turn');
      return stored(record);
    },

    async stop(userId, { threadId } = {}) {
      const thread = threadId === undefined ? undefined : await threads.resolve(userId, threadId);
      return stopEverywhere({ type: 'stop', userId, threadId: thread });
    },

    async history(userId, { limit = HISTORY_LIMIT_DEFAULT, before, threadId } = {}) {
      if (!Number.isInteger(limit) || limit < 1 || limit > HISTORY_LIMIT_MAX) {
        throw new ValidationError(`limit must be an integer between 1 and ${HISTORY_LIMIT_MAX}`, 'limit');
      }
      if (before !== undefined && (!Number.isSafeInteger(before) || before < 1)) {
        throw new ValidationError('before must be a message id', 'before');
      }
      const thread = await threads.resolve(userId, threadId);
      // One more than asked says whether there is an older page, without counting the thread.
      const page = await guard(() => history(userDb(userId), userId, { threadId: thread, limit: limit + 1, before }));
      const hasMore = page.length > limit;
      const messages = hasMore ? page.slice(1) : page;
      return {
        thread_id: thread,
        message_count: messages.length,
        messages,
        has_more: hasMore,
        next_before: hasMore ? (messages[0]?.id ?? null) : null,
      };
    },

    async clear(userId, { threadId } = {}) {
      const thread = await threads.resolve(userId, threadId);
      await settleThread(userId, thread);
      await guard(() => clearThread(userDb(userId), userId, thread));
      return { success: true, message: 'Chat history cleared successfully', thread_id: thread };
    },

    async stats(userId, { threadId } = {}) {
      const thread = await threads.resolve(userId, threadId);
      const [figures, daily, requests] = await Promise.all([
        guard(() => stats(userDb(userId), userId, thread)),
        budget.usage(userId),
        options.requestLimiter?.usage(userId) ?? null,
      ]);
      const quota = options.tokenQuota;
      const limits: SessionLimits = {
        token_quota: quota === null ? null : { limit: quota, used: figures.total_tokens, resets_at: null },
        daily_tokens: daily,
        requests_per_minute: requests,
      };
      return { ...figures, limits };
    },

    stopAll: () => registry.stopAll(),

    drain: () => registry.drain(),

    close: () => {
      unsubscribe();
      maintenance.stop();
    },
  };
}

function validateClientMessageId(id: unknown): string | null {
  if (id === undefined || id === null) return null;
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_CLIENT_MESSAGE_ID_LENGTH) {
    throw new ValidationError(`clientMessageId must be 1-${MAX_CLIENT_MESSAGE_ID_LENGTH} characters`, 'clientMessageId');
  }
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (!id.isWellFormed() || /[\u0000-\u001f\u007f]/.test(id)) {
    throw new ValidationError('clientMessageId must be printable text', 'clientMessageId');
  }
  return id;
}

/**
 * What a retry must repeat for its key to name the same turn. A new question hashes as its text alone, as
 * before threads; the other two say what they replace; photos, when named, follow in order.
 */
function hashedQuestion(mode: 'ask' | 'edit' | 'regenerate', text: string, photos: readonly string[] | undefined): string {
  const asked = mode === 'ask' ? text : `${mode}\u0000${text}`;
  if (photos === undefined || (mode === 'ask' && photos.length === 0)) return asked;
  return `${asked}\u0000photos\u0000${photos.join('\u0000')}`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
