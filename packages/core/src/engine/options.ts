import type { Db } from '../db/db';
import type { LiveEvents } from '../live/live-events';
import type { TurnTiming } from './turn-maintenance';
import type { TurnObserver } from './turn-observer';
import type { ImageLimits } from '../attachments/image-limits';
import type { RequestLimiter } from '../limits/request-limiter';

export interface LlmOptions {
  apiKey: string;
  /** Any OpenAI-compatible server: OpenAI, Ollama, vLLM, llama.cpp server, LM Studio. */
  baseURL?: string | undefined;
  model: string;
  /** The SDK's own retries on 408/409/429/5xx and dropped connections. */
  maxRetries?: number;
  timeoutMs?: number;
}

export type WebSearchOptions =
  | { provider: 'searxng'; url: string }
  | { provider: 'tavily'; apiKey: string; url?: string | undefined };

export interface ToolOptions {
  /** iFixit API v2.0 base URL, e.g. https://www.ifixit.com/api/2.0 */
  ifixitApiUrl: string;
  /** `null`: the web-search tool is not offered to the model at all. */
  webSearch: WebSearchOptions | null;
  timeoutMs: number;
  /** Cap on LLM rounds that call tools within one turn. */
  maxRounds: number;
  userAgent: string;
}

export interface ChatEngineOptions {
  db: Db;
  /** `null`: the embedded offline responder answers (no OPENAI_API_KEY configured). */
  llm: LlmOptions | null;
  systemPrompt: string;
  /** Token budget for the prompt: system prompt + history + the new message. */
  maxContextTokens: number;
  maxMessageChars: number;
  tools: ToolOptions;
  /** Lifetime token allowance per user; `null` for none. */
  tokenQuota: number | null;
  /** Tokens per user per UTC day, reserved before each model call (see `dailyBudget`); `null`/absent for none. */
  dailyTokenQuota?: number | null;
  /**
   * The transports' request limiter, which the engine only reads, for the session's `limits`; absent when
   * there is no rate limit. The caller owns it.
   */
  requestLimiter?: RequestLimiter | null;
  /**
   * Longest wait for any database operation before it fails as DatabaseUnavailable, so an outage answers
   * quickly instead of hanging requests; `null` for none (the embedded PGlite cannot be unreachable).
   */
  databaseDeadlineMs?: number | null;
  /** This process's name as the owner of the turns it runs; a fresh UUID by default. */
  instanceId?: string;
  /**
   * How instances share live turn events and stops (Redis); in process by default, for one instance. The
   * caller owns it: the engine neither opens nor closes it.
   */
  live?: LiveEvents;
  /** Leases, recovery and polling (tests shorten them). */
  turnTiming?: Partial<TurnTiming>;
  /**
   * How a thread is named after its first answer: `model` asks the model for a short title (charged like any
   * call), `heuristic` takes the question's first words. With no model configured it is always `heuristic`.
   */
  titles?: 'model' | 'heuristic';
  /** Delay between tokens of the offline responder, so it streams visibly. */
  offlineTokenDelayMs?: number;
  /** Told as turns start, first stream and end, and as database work runs (the server's metrics). */
  observer?: TurnObserver;
  /** What a photo upload may be (bytes, pixels, sides); `DEFAULT_IMAGE_LIMITS` when absent. */
  imageLimits?: ImageLimits;
}

export const DEFAULT_SYSTEM_PROMPT = `You are FixThread, a friendly, precise repair assistant. Help people diagnose and fix their devices and \
household items step by step. Ask for the exact model when it matters. Use the iFixit guide search tool for \
repair procedures and cite the guides you used with their links. Warn about safety risks (batteries, mains \
power, capacitors) plainly. If you are unsure, say so rather than guessing.`;
