import type OpenAI from 'openai';
import type { DatabaseGuard } from '../db/database-guard';
import type { Db } from '../db/db';
import type { LiveEvents } from '../live/live-events';
import { DatabaseUnavailable, DomainError, UpstreamUnavailable } from '../errors';
import { closeTurnWithReply } from '../store/close-turn';
import { chargedRounds, chargeModelCall, chargeModelCallIn } from '../store/ledger';
import { insertAssistantMessageIn, type ToolCallRecord } from '../store/messages';
import { uniqueSources } from '../store/sources';
import type { ContextRow } from '../store/context';
import { appendTurnEvents, finishTurn, type StreamedChunk } from '../store/turns';
import { countTokens, MESSAGE_OVERHEAD_TOKENS } from '../tokens';
import { buildPrompt, type Prompt } from './build-prompt';
import { streamCompletion, TurnAborted } from './llm/stream-completion';
import { replyFromGuides } from './offline-responder';
import type { Toolbox } from './tools/toolbox';
import type { TurnLog } from './turn-log';
import { noModelUsage, TurnUsage } from './turn-usage';
import { TurnWriter } from './turn-writer';
import { watchTurn, type TurnMode, type TurnObserver, type TurnWatch } from './turn-observer';

export interface ModelClient {
  client: OpenAI;
  model: string;
  idleTimeoutMs: number;
}

export interface TurnDependencies {
  db: Db;
  guard: DatabaseGuard;
  /** This process, as the owner of the turns it runs. */
  owner: string;
  /** Where other instances' readers follow the turns this one runs. */
  live: LiveEvents;
  llm: ModelClient | null;
  toolbox: Toolbox;
  maxToolRounds: number;
  systemPrompt: string;
  /** Tokens of the system prompt and tool definitions: fixed for the engine's life, so counted once. */
  fixedPromptTokens: number;
  maxContextTokens: number;
  offlineTokenDelayMs: number;
  observer: TurnObserver;
}

/** One turn that has started: its question is stored and the thread is its own until it ends. */
export interface RunningTurn {
  id: string;
  userId: string;
  threadId: string;
  userMessageId: number;
  mode?: TurnMode | undefined;
  /** The context window, when it was read with the turn's start. */
  context?: ContextRow[] | undefined;
  log: TurnLog;
  signal: AbortSignal;
  /** Aborts the model call when the turn cannot go on (its events can no longer be stored). */
  abort(reason: unknown): void;
}

interface Reply {
  finishReason: string;
  toolCalls: ToolCallRecord[];
}

/**
 * Everything after the user message is stored: context, the reply (with tool rounds) streamed through the
 * turn's writer, each model call charged as it completes, then the reply saved and the turn closed together.
 * A failed turn keeps its question and what it streamed, and is closed as failed with its typed error.
 */
export function runTurn(deps: TurnDependencies, turn: RunningTurn): Promise<{ closed: boolean }> {
  return watchTurn(deps.observer, turn, (watch) => runWatchedTurn(deps, turn, watch));
}

async function runWatchedTurn(deps: TurnDependencies, turn: RunningTurn, watch: TurnWatch): Promise<{ closed: boolean }> {
  const writer = new TurnWriter({
    persist: (chunks) => deps.guard(() => appendTurnEvents(deps.db, turn.id, chunks)),
    publish: (chunks) => {
      for (const { seq, type, content } of chunks) turn.log.append(seq, { type, content });
      if (chunks.some((chunk) => chunk.type === 'token')) watch.firstToken();
      deps.live.publish(turn.id, chunks);
    },
    onFailure: (error) => turn.abort(error),
  });
  const usage = new TurnUsage((call) => deps.guard(() => chargeModelCall(deps.db, turn.userId, turn.id, call), 'charge_model_call'));
  try {
    const prompt = await deps.guard(() => buildPrompt({ ...deps, model: deps.llm?.model ?? null }, turn), 'load_context');
    const reply = deps.llm
      ? await replyWithModel(deps, deps.llm, prompt, writer, usage, turn.signal)
      : await replyOffline(deps, prompt, writer, usage, turn.signal);
    // A reply without tool calls stores its last events with the close (one round trip fewer); one with tool
    // calls closes in a transaction of its own, after everything it streamed is stored.
    const tail = reply.toolCalls.length === 0 ? await writer.takeTail() : await writer.flushed().then(() => []);
    const content = turn.log.text() + tail.map((chunk) => (chunk.type === 'token' ? chunk.content : '')).join('');
    const { owned, messageId, contentTokens } = await saveReply(deps, turn, content, reply, usage, tail);
    if (!owned) throw new UpstreamUnavailable('This reply was interrupted. Please ask again.');
    writer.publish(tail);
    const totals = { total_tokens: usage.totalTokens, estimated: usage.estimated };
    watch.ended(reply.finishReason === 'stopped' ? 'stopped' : 'completed', { streamedTokens: contentTokens, usage: totals });
    turn.log.finish({
      type: 'done',
      thread_id: turn.threadId,
      turn_id: turn.id,
      user_message_id: turn.userMessageId,
      message_id: messageId,
      sources: uniqueSources(reply.toolCalls.flatMap((call) => call.sources)),
      usage: totals,
      stopped: reply.finishReason === 'stopped',
      interrupted: false,
    });
    return { closed: true };
  } catch (thrown) {
    const error = turn.signal.reason instanceof DomainError ? turn.signal.reason : thrown;
    const closed = await closeFailedTurn(deps, turn, error, usage);
    const streamedTokens = countTokens(turn.log.text());
    watch.ended(closed ? 'failed' : 'interrupted', { streamedTokens, usage: failedTurnUsage(usage, error) }, error);
    turn.log.fail(error);
    return { closed };
  }
}

/** What a failed turn was charged: its calls so far and, when the model failed mid-stream, what that call streamed. */
function failedTurnUsage(usage: TurnUsage, error: unknown): { total_tokens: number; estimated: boolean } {
  const spent = error instanceof UpstreamUnavailable ? error.spent : null;
  return { total_tokens: usage.totalTokens + (spent?.totalTokens ?? 0), estimated: usage.estimated || spent !== null };
}

/**
 * Records the failure so a retry with the same key gets the same error. When the database itself failed this
 * may not be possible: the turn is then abandoned, and recovered as interrupted, with what it had stored, as
 * soon as the database answers again.
 */
async function closeFailedTurn(deps: TurnDependencies, turn: RunningTurn, error: unknown, usage: TurnUsage): Promise<boolean> {
  // The database just failed this turn: trying again now would only hold its thread for another deadline.
  if (error instanceof DatabaseUnavailable) return false;
  const code = error instanceof DomainError ? error.code : 'INTERNAL';
  const message = error instanceof DomainError ? error.message : 'Internal server error';
  const spent = error instanceof UpstreamUnavailable ? error.spent : usage.uncharged;
  try {
    await deps.guard(() =>
      finishTurn(deps.db, turn.id, deps.owner, async (tx) => {
        if (spent) await chargeModelCallIn(tx, turn.userId, turn.id, spent);
        const charged = await chargedRounds(tx, turn.id);
        return { status: 'failed', errorCode: code, errorMessage: message, usageTokens: charged.tokens, usageEstimated: charged.estimated };
      }),
      'close_failed_turn',
    );
    return true;
  } catch {
    // Recovery will close it; the user already has the more useful error.
    return false;
  }
}

/**
 * The reply, its tool calls and its last charge, with the turn closed, in one transaction. The model has
 * answered and the user has seen it, so only an unreachable database may lose it: any other failure of the
 * full record (tool output the database refuses, say) falls back to the reply without its tool calls.
 */
async function saveReply(
  deps: TurnDependencies,
  turn: RunningTurn,
  content: string,
  reply: Reply,
  usage: TurnUsage,
  tail: StreamedChunk[],
): Promise<{ owned: boolean; messageId: number; contentTokens: number }> {
  // Tokenizing a long reply takes a while; done inside the transaction it would count against the database's
  // deadline, which could then report an outage for a reply that is in fact saved.
  const contentTokens = countTokens(content);
  const status = reply.finishReason === 'stopped' ? ('stopped' as const) : ('completed' as const);
  const saved = {
    threadId: turn.threadId,
    content,
    contentTokens,
    usageTokens: usage.totalTokens,
    usageEstimated: usage.estimated,
    finishReason: reply.finishReason,
  };
  const save = (toolCalls: ToolCallRecord[]) => {
    // The common case, a reply without tool calls, closes its turn in one statement.
    if (toolCalls.length === 0) {
      const closing = { ...saved, turnId: turn.id, owner: deps.owner, userId: turn.userId, status, charge: usage.uncharged ?? null, events: tail };
      return deps
        .guard(() => closeTurnWithReply(deps.db, closing), 'finish_turn')
        .then((closed) => ({ owned: closed !== undefined, messageId: closed?.messageId ?? 0, contentTokens }));
    }
    let messageId = 0;
    return deps
      .guard(() =>
        finishTurn(deps.db, turn.id, deps.owner, async (tx) => {
          const last = usage.uncharged;
          if (last) await chargeModelCallIn(tx, turn.userId, turn.id, last);
          ({ id: messageId } = await insertAssistantMessageIn(tx, turn.userId, { ...saved, toolCalls }));
          return {
            status,
            assistantMessageId: messageId,
            usageTokens: usage.totalTokens,
            usageEstimated: usage.estimated,
          };
        }),
        'finish_turn',
      )
      .then((owned) => ({ owned, messageId, contentTokens }));
  };
  try {
    return await save(reply.toolCalls);
  } catch (error) {
    if (error instanceof DatabaseUnavailable || reply.toolCalls.length === 0) throw error;
    return save([]);
  }
}

export function fixedPromptTokens(systemPrompt: string, toolbox: Toolbox, withTools: boolean): number {
  return (
    countTokens(systemPrompt) +
    MESSAGE_OVERHEAD_TOKENS +
    (withTools ? countTokens(JSON.stringify(toolbox.definitions)) : 0)
  );
}

async function replyWithModel(
  deps: TurnDependencies,
  llm: ModelClient,
  { messages, imageTokens }: Prompt,
  writer: TurnWriter,
  usage: TurnUsage,
  signal: AbortSignal,
): Promise<Reply> {
  const reply: Reply = { finishReason: 'stop', toolCalls: [] };
  let round = 0;
  let streamedAny = false;
  let endsWithNewline = false;
  let roundStreamed = false;
  const streamToken = (text: string) => {
    // Text from separate rounds reads as separate paragraphs; the separator streams like any token.
    if (!roundStreamed && streamedAny && !endsWithNewline) writer.token('\n\n', round);
    roundStreamed = streamedAny = true;
    endsWithNewline = text.endsWith('\n');
    writer.token(text, round);
  };
  try {
    for (; ; round++) {
      roundStreamed = false;
      const offerTools = round < deps.maxToolRounds;
      const result = await streamCompletion(
        llm.client,
        {
          round,
          model: llm.model,
          messages,
          imageTokens,
          tools: offerTools ? deps.toolbox.definitions : [],
          signal,
          idleTimeoutMs: llm.idleTimeoutMs,
        },
        streamToken,
      );
      reply.finishReason = result.finishReason;
      if (result.toolCalls.length === 0 || !offerTools) {
        usage.recordAtClose(result.usage);
        break;
      }
      await usage.record(result.usage);
      messages.push({
        role: 'assistant',
        content: result.text.toString() || null,
        tool_calls: result.toolCalls.map((call) => ({
          id: call.id,
          type: 'function',
          function: { name: call.name, arguments: call.arguments },
        })),
      });
      for (const call of result.toolCalls) {
        writer.status(deps.toolbox.statusFor(call.name), round);
        const record = await deps.toolbox.run(call, signal);
        reply.toolCalls.push(record);
        messages.push({ role: 'tool', tool_call_id: call.id, content: record.result });
      }
    }
  } catch (error) {
    if (!signal.aborted || signal.reason instanceof DomainError) throw error;
    reply.finishReason = 'stopped';
    if (error instanceof TurnAborted) usage.recordAtClose(error.spent);
  }
  if (reply.finishReason === 'tool_calls') reply.finishReason = 'tool_limit';
  return reply;
}

async function replyOffline(
  deps: TurnDependencies,
  { messages, questionPhotos }: Prompt,
  writer: TurnWriter,
  usage: TurnUsage,
  signal: AbortSignal,
): Promise<Reply> {
  // Settled at 0 before anything streams: recovery estimates only rounds left uncharged, and would otherwise
  // bill a crash mid-answer for text no model wrote.
  await usage.record(noModelUsage(0));
  const { toolCalls, stopped } = await replyFromGuides(lastQuestion(messages), {
    toolbox: deps.toolbox,
    status: (text) => writer.status(text, 0),
    token: (text) => writer.token(text, 0),
    signal,
    delayMs: deps.offlineTokenDelayMs,
    hasPhotos: questionPhotos > 0,
  });
  return { finishReason: stopped ? 'stopped' : 'stop', toolCalls };
}

/** The question's words; with photos attached they are the text parts beside the images. */
function lastQuestion(messages: Prompt['messages']): string {
  const content = messages.findLast((message) => message.role === 'user')?.content;
  if (typeof content === 'string') return content;
  return (content ?? []).map((part) => (part.type === 'text' ? part.text : '')).join(' ');
}
