import { createHash, randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import { createDatabaseGuard } from '../db/database-guard';
import { ConflictError, NotFoundError, QuotaExceeded, ValidationError } from '../errors';
import { clearThread, history, insertUserMessageIn, stats } from '../store/messages';
import { threadIdFor } from '../store/thread-id';
import { claimTurn, createTurn, deleteQueuedTurn, findTurn, type TurnRecord } from '../store/turns';
import { totalTokensIn } from '../store/usage';
import type { ChatEngineOptions } from './options';
import { fixedPromptTokens, runTurn, type TurnDependencies } from './run-turn';
import { storedTurn } from './stored-turn';
import { ThreadQueue } from './thread-queue';
import { createToolbox } from './tools/toolbox';
import { TurnLog } from './turn-log';
import { DEFAULT_TURN_TIMING, startTurnMaintenance } from './turn-maintenance';
import { TurnRegistry, type LocalTurn } from './turn-registry';
import type { ChatEngine, SendOptions, Turn } from './types';
import { validateMessage } from './validate-message';

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
  const { db } = options;
  const guard = createDatabaseGuard(options.databaseDeadlineMs ?? null);
  const owner = options.instanceId ?? randomUUID();
  const timing = { ...DEFAULT_TURN_TIMING, ...options.turnTiming };
  const toolbox = createToolbox(options.tools);
  const llm = options.llm;
  const deps: TurnDependencies = {
    db,
    guard,
    owner,
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
  };
  const registry = new TurnRegistry();
  const queue = new ThreadQueue();
  const maintenance = startTurnMaintenance({ db, guard, owner, registry, timing });
  const stored = (record: TurnRecord) => storedTurn({ db, guard, pollMs: timing.pollMs }, record);

  async function startTurn(userId: string, message: string, { clientMessageId }: SendOptions = {}): Promise<Turn> {
    const text = validateMessage(message, options.maxMessageChars);
    const key = validateClientMessageId(clientMessageId);
    const messageHash = sha256(text);
    // Registered before anything is awaited, so stop() and clear() reach a turn from the moment it is asked for.
    const local = newLocalTurn(randomUUID(), userId);
    registry.add(local);
    let found: { created: boolean; turn: TurnRecord };
    try {
      found = await guard(() =>
        createTurn(db, {
          id: local.id,
          userId,
          threadId: local.threadId,
          clientMessageId: key,
          messageHash,
          owner,
          leaseMs: timing.leaseMs,
        }),
      );
    } catch (error) {
      local.settle();
      throw error;
    }
    if (found.created) return runNewTurn(local, found.turn, text);
    local.settle();
    if (found.turn.messageHash !== messageHash) {
      throw new ConflictError('This idempotency key was already used for a different message');
    }
    return (await existingTurn(found.turn)) ?? startTurn(userId, message, { clientMessageId });
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
    const local: PendingLocalTurn = {
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
    return local;
  }

  /** Queues the turn behind the thread's earlier ones; resolves once its question is stored and it runs. */
  async function runNewTurn(local: PendingLocalTurn, record: TurnRecord, text: string): Promise<Turn> {
    void registry.track(
      (async () => {
        let release: (() => void) | undefined;
        try {
          release = await queue.acquire(record.threadId);
          const userMessageId = await claimWhenFree(record, text);
          local.begin(userMessageId);
          const { closed } = await runTurn(deps, {
            ...local,
            userMessageId,
            signal: local.controller.signal,
            abort: (reason) => local.controller.abort(reason),
          });
          if (!closed) registry.abandon(record.id);
        } catch (error) {
          local.refuse(error);
          // It never started, so it stored nothing: its key is free for the client's retry.
          await guard(() => deleteQueuedTurn(db, record.id)).catch(() => {});
        } finally {
          release?.();
          local.settle();
        }
      })(),
    );
    return localTurn(local, await local.started);
  }

  async function claimWhenFree(record: TurnRecord, text: string): Promise<number> {
    for (;;) {
      const userMessageId = await guard(() =>
        claimTurn(db, {
          turn: record,
          owner,
          abandoned: registry.abandoned(),
          leaseMs: timing.leaseMs,
          admit: async (tx) => {
            const quota = options.tokenQuota;
            if (quota !== null && (await totalTokensIn(tx, record.userId)) >= quota) {
              throw new QuotaExceeded(`Token quota of ${quota} exhausted`);
            }
          },
          storeQuestion: async (tx) => (await insertUserMessageIn(tx, record.userId, text)).id,
        }),
      );
      if (userMessageId !== undefined) return userMessageId;
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
      current = await guard(() => findTurn(db, record.userId, record.id));
    }
    return current ? stored(current) : undefined;
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
      const record = await guard(() => findTurn(db, userId, turnId));
      if (!record) throw new NotFoundError('No such turn');
      return stored(record);
    },

    stop: (userId) => registry.stopUser(userId),

    async history(userId, { limit = HISTORY_LIMIT_DEFAULT } = {}) {
      if (!Number.isInteger(limit) || limit < 1 || limit > HISTORY_LIMIT_MAX) {
        throw new ValidationError(`limit must be an integer between 1 and ${HISTORY_LIMIT_MAX}`, 'limit');
      }
      const messages = await guard(() => history(db, userId, { limit }));
      return { thread_id: threadIdFor(userId), message_count: messages.length, messages };
    },

    async clear(userId) {
      // Replies still streaming or queued would land after the delete; stop them and clear once they are saved.
      const pending = registry.ofUser(userId);
      registry.stopUser(userId);
      await Promise.all(pending.map((turn) => turn.settled));
      await guard(() => clearThread(db, userId));
      return { success: true, message: 'Chat history cleared successfully', thread_id: threadIdFor(userId) };
    },

    stats: (userId) => guard(() => stats(db, userId)),

    stopAll: () => registry.stopAll(),

    drain: () => registry.drain(),

    close: () => maintenance.stop(),
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

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
