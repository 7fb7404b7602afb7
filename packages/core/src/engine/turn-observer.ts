import { SpanStatusCode, type Span } from '@opentelemetry/api';
import { inSpan } from '../tracing';

export type TurnOutcome = 'completed' | 'stopped' | 'failed' | 'interrupted';

export type TurnMode = 'ask' | 'edit' | 'regenerate';

export interface TurnSummary {
  /** Since the turn started, i.e. since its question was stored. */
  durationMs: number;
  /** The answer's text as readers received it, in tokenizer tokens (what a stopped or failed turn got out too). */
  streamedTokens: number;
  /** What the turn was charged: `estimated` when any of its model calls reported no usage. */
  usage: { total_tokens: number; estimated: boolean };
}

/**
 * What the engine tells whoever watches it (the server's metrics). Called on the turn's own path, so an
 * implementation must be cheap and must not throw; nothing here is called per token.
 */
export interface TurnObserver {
  turnStarted(mode: TurnMode): void;
  /** The first token was stored and published to readers, `ms` after the turn started. */
  firstToken(ms: number): void;
  turnEnded(outcome: TurnOutcome, summary: TurnSummary): void;
  /**
   * A database operation the engine runs (for turns and for requests alike) has begun; the returned function
   * is called once it has settled.
   */
  databaseOperationStarted(): () => void;
}

const settled = () => {};

export const NO_TURN_OBSERVER: TurnObserver = {
  turnStarted: () => {},
  firstToken: () => {},
  turnEnded: () => {},
  databaseOperationStarted: () => settled,
};

export interface TurnIdentity {
  id: string;
  threadId: string;
  mode?: TurnMode | undefined;
}

/** The running turn's side of observing: its span and its metrics, told each thing once. */
export interface TurnWatch {
  firstToken(): void;
  ended(outcome: TurnOutcome, summary: Omit<TurnSummary, 'durationMs'>, error?: unknown): void;
}

/**
 * Runs a turn inside its `turn` span, which is a child of whatever span is active (the request that started
 * it), so the model calls, tool calls and database work of the turn nest under it.
 */
export function watchTurn<T>(observer: TurnObserver, turn: TurnIdentity, run: (watch: TurnWatch) => Promise<T>): Promise<T> {
  const mode = turn.mode ?? 'ask';
  const attributes = { 'fixthread.thread.id': turn.threadId, 'fixthread.turn.id': turn.id, 'fixthread.turn.mode': mode };
  return inSpan('turn', { attributes }, (span) => {
    const startedAt = performance.now();
    let firstTokenSeen = false;
    let endSeen = false;
    observer.turnStarted(mode);
    return run({
      firstToken() {
        if (firstTokenSeen) return;
        firstTokenSeen = true;
        const ms = performance.now() - startedAt;
        span.addEvent('first token', { 'fixthread.turn.time_to_first_token_ms': ms });
        observer.firstToken(ms);
      },
      ended(outcome, summary, error) {
        if (endSeen) return;
        endSeen = true;
        recordEnd(span, outcome, summary, error);
        observer.turnEnded(outcome, { ...summary, durationMs: performance.now() - startedAt });
      },
    });
  });
}

function recordEnd(span: Span, outcome: TurnOutcome, summary: Omit<TurnSummary, 'durationMs'>, error: unknown): void {
  span.setAttributes({
    'fixthread.turn.outcome': outcome,
    'fixthread.turn.streamed_tokens': summary.streamedTokens,
    'fixthread.usage.total_tokens': summary.usage.total_tokens,
    'fixthread.usage.estimated': summary.usage.estimated,
  });
  if (outcome !== 'failed' && outcome !== 'interrupted') return;
  const code = (error as { code?: unknown } | undefined)?.code;
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : outcome });
  span.setAttribute('error.type', typeof code === 'string' ? code : error instanceof Error ? error.name : outcome);
}
