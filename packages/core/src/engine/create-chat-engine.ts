import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import { createDatabaseGuard } from '../db/database-guard';
import { QuotaExceeded, ValidationError } from '../errors';
import { appendUserMessage, clearThread, history, stats, unansweredQuestion } from '../store/messages';
import { threadIdFor } from '../store/thread-id';
import { totalTokens } from '../store/usage';
import type { ChatEngineOptions } from './options';
import { fixedPromptTokens, runTurn, type TurnDependencies } from './run-turn';
import { createToolbox } from './tools/toolbox';
import { TurnLog } from './turn-log';
import type { ChatEngine, PositionedEvent, Turn, TurnEvent } from './types';
import { UserLocks } from './user-locks';
import { validateMessage } from './validate-message';

export const HISTORY_LIMIT_MAX = 200;
export const HISTORY_LIMIT_DEFAULT = 50;
const DEFAULT_LLM_TIMEOUT_MS = 60_000;

export function createChatEngine(options: ChatEngineOptions): ChatEngine {
  const { db } = options;
  const guard = createDatabaseGuard(options.databaseDeadlineMs ?? null);
  const toolbox = createToolbox(options.tools);
  const llm = options.llm;
  const deps: TurnDependencies = {
    db,
    guard,
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
  const locks = new UserLocks();
  /** Every turn of a user from the moment it is asked for, queued or running, so stop() and clear() reach it. */
  const turnsByUser = new Map<string, Set<PendingTurn>>();
  const pending = new Set<Promise<unknown>>();

  function track<T>(work: Promise<T>): Promise<T> {
    pending.add(work);
    void work.finally(() => pending.delete(work)).catch(() => {});
    return work;
  }

  function turnsOf(userId: string): Set<PendingTurn> {
    let turns = turnsByUser.get(userId);
    if (!turns) turnsByUser.set(userId, (turns = new Set()));
    return turns;
  }

  function forget(userId: string, entry: PendingTurn): void {
    const turns = turnsByUser.get(userId);
    turns?.delete(entry);
    if (turns?.size === 0) turnsByUser.delete(userId);
  }

  async function startTurn(userId: string, message: string): Promise<Turn> {
    const text = validateMessage(message, options.maxMessageChars);
    // The same question re-sent while it is being answered (a client that reconnected before its first
    // event, a double submit) joins that turn instead of asking twice.
    for (const entry of turnsByUser.get(userId) ?? []) {
      if (entry.message === text && !entry.controller.signal.aborted && !entry.log?.isFinished) return entry.turn;
    }
    const entry: PendingTurn = { message: text, controller: new AbortController(), turn: undefined! };
    entry.turn = track(beginTurn(userId, entry));
    turnsOf(userId).add(entry);
    // A turn that never starts (quota, database down) must not linger as joinable.
    entry.turn.catch(() => forget(userId, entry));
    return entry.turn;
  }

  async function beginTurn(userId: string, entry: PendingTurn): Promise<Turn> {
    const release = await locks.acquire(userId);
    let userMessageId: number;
    try {
      const quota = options.tokenQuota;
      if (quota !== null && (await guard(() => totalTokens(db, userId))) >= quota) {
        throw new QuotaExceeded(`Token quota of ${quota} exhausted`);
      }
      const question = await guard(
        async () =>
          (await unansweredQuestion(db, userId, entry.message)) ?? (await appendUserMessage(db, userId, entry.message)),
      );
      userMessageId = question.id;
    } catch (error) {
      release();
      throw error;
    }
    const log = new TurnLog();
    entry.log = log;
    void track(
      runTurn(deps, userId, log, entry.controller.signal).finally(() => {
        forget(userId, entry);
        release();
      }),
    );
    return {
      id: randomUUID(),
      threadId: threadIdFor(userId),
      userMessageId,
      events: (signal) => eventsOnly(log.read(signal)),
      positionedEvents: ({ signal, after } = {}) => log.read(signal, after),
      done: log.done,
      stop: () => entry.controller.abort(),
    };
  }

  function stopAllOf(userId: string): boolean {
    const turns = turnsByUser.get(userId);
    for (const entry of turns ?? []) entry.controller.abort();
    return (turns?.size ?? 0) > 0;
  }

  return {
    startTurn,

    async send(userId, message) {
      const turn = await startTurn(userId, message);
      let response = '';
      for await (const event of turn.events()) {
        if (event.type === 'token') response += event.content;
      }
      return { response, thread_id: turn.threadId };
    },

    stop: stopAllOf,

    async history(userId, { limit = HISTORY_LIMIT_DEFAULT } = {}) {
      if (!Number.isInteger(limit) || limit < 1 || limit > HISTORY_LIMIT_MAX) {
        throw new ValidationError(`limit must be an integer between 1 and ${HISTORY_LIMIT_MAX}`, 'limit');
      }
      const messages = await guard(() => history(db, userId, { limit }));
      return { thread_id: threadIdFor(userId), message_count: messages.length, messages };
    },

    async clear(userId) {
      // Replies still streaming or queued would land after the delete; stop them and clear once they are saved.
      stopAllOf(userId);
      const release = await locks.acquire(userId);
      try {
        await guard(() => clearThread(db, userId));
      } finally {
        release();
      }
      return { success: true, message: 'Chat history cleared successfully', thread_id: threadIdFor(userId) };
    },

    stats: (userId) => guard(() => stats(db, userId)),

    stopAll() {
      for (const userId of turnsByUser.keys()) stopAllOf(userId);
    },

    async drain() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}

async function* eventsOnly(events: AsyncIterable<PositionedEvent>): AsyncGenerator<TurnEvent> {
  for await (const { event } of events) yield event;
}

interface PendingTurn {
  message: string;
  controller: AbortController;
  turn: Promise<Turn>;
  /** Set once the turn is running; until then it is queued behind the user's previous turn. */
  log?: TurnLog;
}
