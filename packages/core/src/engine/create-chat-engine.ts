import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import { QuotaExceeded, ValidationError } from '../errors';
import { appendUserMessage, clearThread, history, stats, unansweredQuestion } from '../store/messages';
import { threadIdFor } from '../store/thread-id';
import { totalTokens } from '../store/usage';
import type { ChatEngineOptions } from './options';
import { runTurn, type TurnDependencies } from './run-turn';
import { createToolbox } from './tools/toolbox';
import { TurnLog } from './turn-log';
import type { ChatEngine, Turn } from './types';
import { UserLocks } from './user-locks';
import { validateMessage } from './validate-message';

export const HISTORY_LIMIT_MAX = 200;
export const HISTORY_LIMIT_DEFAULT = 50;

export function createChatEngine(options: ChatEngineOptions): ChatEngine {
  const { db } = options;
  const deps: TurnDependencies = {
    db,
    llm: options.llm
      ? {
          model: options.llm.model,
          client: new OpenAI({
            apiKey: options.llm.apiKey,
            baseURL: options.llm.baseURL,
            maxRetries: options.llm.maxRetries ?? 2,
            timeout: options.llm.timeoutMs ?? 60_000,
          }),
        }
      : null,
    toolbox: createToolbox(options.tools),
    maxToolRounds: options.tools.maxRounds,
    systemPrompt: options.systemPrompt,
    maxContextTokens: options.maxContextTokens,
    offlineTokenDelayMs: options.offlineTokenDelayMs ?? 12,
  };
  const locks = new UserLocks();
  const active = new Map<string, { turn: Turn; controller: AbortController }>();
  const pending = new Set<Promise<unknown>>();

  function track<T>(work: Promise<T>): Promise<T> {
    pending.add(work);
    void work.finally(() => pending.delete(work)).catch(() => {});
    return work;
  }

  async function startTurn(userId: string, message: string): Promise<Turn> {
    const text = validateMessage(message, options.maxMessageChars);
    const release = await track(locks.acquire(userId));
    let userMessageId: number;
    try {
      if (options.tokenQuota !== null && (await totalTokens(db, userId)) >= options.tokenQuota) {
        throw new QuotaExceeded(`Token quota of ${options.tokenQuota} exhausted`);
      }
      const question = (await unansweredQuestion(db, userId, text)) ?? (await appendUserMessage(db, userId, text));
      userMessageId = question.id;
    } catch (error) {
      release();
      throw error;
    }
    const controller = new AbortController();
    const log = new TurnLog();
    const turn: Turn = {
      id: randomUUID(),
      threadId: threadIdFor(userId),
      userMessageId,
      events: (signal) => log.read(signal),
      done: log.done,
      stop: () => controller.abort(),
    };
    active.set(userId, { turn, controller });
    void track(
      runTurn(deps, userId, log, controller.signal).finally(() => {
        active.delete(userId);
        release();
      }),
    );
    return turn;
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

    stop(userId) {
      const current = active.get(userId);
      if (!current) return false;
      current.turn.stop();
      return true;
    },

    async history(userId, { limit = HISTORY_LIMIT_DEFAULT } = {}) {
      if (!Number.isInteger(limit) || limit < 1 || limit > HISTORY_LIMIT_MAX) {
        throw new ValidationError(`limit must be an integer between 1 and ${HISTORY_LIMIT_MAX}`, 'limit');
      }
      const messages = await history(db, userId, { limit });
      return { thread_id: threadIdFor(userId), message_count: messages.length, messages };
    },

    async clear(userId) {
      // A reply still streaming would land after the delete; stop it and clear once it has been saved.
      active.get(userId)?.turn.stop();
      const release = await locks.acquire(userId);
      try {
        await clearThread(db, userId);
      } finally {
        release();
      }
      return { success: true, message: 'Chat history cleared successfully', thread_id: threadIdFor(userId) };
    },

    stats: (userId) => stats(db, userId),

    stopAll() {
      for (const { controller } of active.values()) controller.abort();
    },

    async drain() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}
