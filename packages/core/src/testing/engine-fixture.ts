import { startFakeIfixit, startFakeOpenAI, type FakeIfixit, type FakeOpenAI } from '@fixthread/testing';
import { createChatEngine } from '../engine/create-chat-engine';
import { DEFAULT_SYSTEM_PROMPT, type ChatEngineOptions } from '../engine/options';
import type { ChatEngine } from '../engine/types';
import type { TestDatabase } from './test-databases';

export interface EngineFixture extends AsyncDisposable {
  engine: ChatEngine;
  openai: FakeOpenAI;
  ifixit: FakeIfixit;
}

export type EngineOverrides = Partial<Omit<ChatEngineOptions, 'db' | 'tools'>> & {
  tools?: Partial<ChatEngineOptions['tools']>;
  offline?: boolean;
  /** Point the model client somewhere other than the fake (a hand-rolled misbehaving server). */
  llmBaseURL?: string;
  llmTimeoutMs?: number;
};

/**
 * A real engine on a fresh database, talking over HTTP to a fake OpenAI-compatible server and a fake iFixit.
 * The SDK's retries are off by default so each scripted reply maps to exactly one request. The database is
 * the caller's: suites share one per driver and keep tests apart by user id.
 */
export async function startEngineFixture(database: TestDatabase, overrides: EngineOverrides = {}): Promise<EngineFixture> {
  const openai = await startFakeOpenAI();
  const ifixit = await startFakeIfixit();
  const { offline, tools, llmBaseURL, llmTimeoutMs, ...rest } = overrides;
  const engine = createChatEngine({
    db: database.db,
    llm: offline
      ? null
      : {
          apiKey: 'test-key',
          baseURL: llmBaseURL ?? openai.baseURL,
          model: 'gpt-4o-mini',
          maxRetries: 0,
          ...(llmTimeoutMs ? { timeoutMs: llmTimeoutMs } : {}),
        },
    systemPrompt: DEFAULT_SYSTEM_PROMPT,
    maxContextTokens: 8000,
    maxMessageChars: 8000,
    tokenQuota: null,
    offlineTokenDelayMs: 0,
    // A model-made title is one more charged call after a thread's first answer; the suites that test it ask.
    titles: 'heuristic',
    ...rest,
    tools: {
      ifixitApiUrl: ifixit.apiUrl,
      webSearch: null,
      timeoutMs: 2000,
      maxRounds: 3,
      userAgent: 'FixThread-test',
      ...tools,
    },
  });
  return {
    engine,
    openai,
    ifixit,
    [Symbol.asyncDispose]: async () => {
      await engine.drain();
      engine.close();
      await Promise.all([openai.close(), ifixit.close()]);
    },
  };
}
