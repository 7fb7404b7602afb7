import type OpenAI from 'openai';
import type { DatabaseGuard } from '../db/database-guard';
import type { Db } from '../db/db';
import { loadContext } from '../store/context';
import {
  appendAssistantMessage,
  type AssistantMessageInput,
  type StoredMessage,
  type ToolCallRecord,
} from '../store/messages';
import { uniqueSources } from '../store/sources';
import { threadIdFor } from '../store/thread-id';
import { DatabaseUnavailable, UpstreamUnavailable } from '../errors';
import { addUsage } from '../store/usage';
import { countTokens, MESSAGE_OVERHEAD_TOKENS } from '../tokens';
import type { ChatMessage } from './llm/chat-message';
import { estimateTokens, streamCompletion, TurnAborted } from './llm/stream-completion';
import { streamOfflineReply } from './offline-responder';
import type { Toolbox } from './tools/toolbox';
import type { TurnLog } from './turn-log';

export interface ModelClient {
  client: OpenAI;
  model: string;
  idleTimeoutMs: number;
}

export interface TurnDependencies {
  db: Db;
  guard: DatabaseGuard;
  llm: ModelClient | null;
  toolbox: Toolbox;
  maxToolRounds: number;
  systemPrompt: string;
  /** Tokens of the system prompt and tool definitions: fixed for the engine's life, so counted once. */
  fixedPromptTokens: number;
  maxContextTokens: number;
  offlineTokenDelayMs: number;
}

/** The reply's text is not kept here: it is exactly what the turn's log streamed (`TurnLog.text()`). */
interface Reply {
  tokens: number;
  estimated: boolean;
  finishReason: string;
  toolCalls: ToolCallRecord[];
}

/**
 * Everything after the user message is stored: context, the reply (with tool rounds), then the reply and its
 * usage saved together. Errors go to the log as typed errors; nothing is saved for a failed reply.
 */
export async function runTurn(deps: TurnDependencies, userId: string, log: TurnLog, signal: AbortSignal): Promise<void> {
  const spent = { tokens: 0 };
  try {
    const messages = await deps.guard(() => buildPrompt(deps, userId));
    const onToken = (content: string) => log.push({ type: 'token', content });
    const reply = deps.llm
      ? await replyWithModel(deps, deps.llm, messages, onToken, log, signal, spent)
      : await replyOffline(deps, messages, onToken, signal);
    const stored = await saveReply(deps, userId, log.text(), reply);
    log.push({
      type: 'done',
      thread_id: threadIdFor(userId),
      message_id: stored.id,
      sources: uniqueSources(reply.toolCalls.flatMap((call) => call.sources)),
      usage: { total_tokens: reply.tokens, estimated: reply.estimated },
      stopped: reply.finishReason === 'stopped',
    });
  } catch (error) {
    await chargeFailedTurn(deps, userId, spent.tokens + (error instanceof UpstreamUnavailable ? error.spentTokens : 0));
    log.fail(error);
  }
}

/**
 * The model has answered and the user has seen it, so only an unreachable database may lose the reply. Any
 * other failure of the full record (a tool call the database refuses, say) falls back to the reply and its
 * usage alone, marked estimated.
 */
async function saveReply(deps: TurnDependencies, userId: string, content: string, reply: Reply): Promise<StoredMessage> {
  const record: AssistantMessageInput = {
    content,
    usageTokens: reply.tokens,
    usageEstimated: reply.estimated,
    finishReason: reply.finishReason,
    toolCalls: reply.toolCalls,
  };
  try {
    return await deps.guard(() => appendAssistantMessage(deps.db, userId, record));
  } catch (error) {
    if (error instanceof DatabaseUnavailable) throw error;
    return deps.guard(() =>
      appendAssistantMessage(deps.db, userId, { ...record, usageEstimated: true, toolCalls: [] }),
    );
  }
}

/** Rounds that completed before a failure were billed by the provider, so they count even without a reply. */
async function chargeFailedTurn(deps: TurnDependencies, userId: string, tokens: number): Promise<void> {
  if (tokens <= 0) return;
  try {
    await deps.guard(() => addUsage(deps.db, userId, tokens));
  } catch {
    // The turn already failed with a more useful error; an unrecorded charge is in the user's favour.
  }
}

export function fixedPromptTokens(systemPrompt: string, toolbox: Toolbox, withTools: boolean): number {
  return (
    countTokens(systemPrompt) +
    MESSAGE_OVERHEAD_TOKENS +
    (withTools ? countTokens(JSON.stringify(toolbox.definitions)) : 0)
  );
}

async function buildPrompt(deps: TurnDependencies, userId: string): Promise<ChatMessage[]> {
  const budget = Math.max(deps.maxContextTokens - deps.fixedPromptTokens, 1);
  const history = await loadContext(deps.db, userId, { maxTokens: budget });
  // A reply stopped before its first token is stored empty; it tells the model nothing.
  const meaningful = history.filter((message) => message.content !== '');
  return [{ role: 'system', content: deps.systemPrompt }, ...meaningful];
}

async function replyWithModel(
  deps: TurnDependencies,
  llm: ModelClient,
  messages: ChatMessage[],
  onToken: (content: string) => void,
  log: TurnLog,
  signal: AbortSignal,
  spent: { tokens: number },
): Promise<Reply> {
  const reply: Reply = { tokens: 0, estimated: false, finishReason: 'stop', toolCalls: [] };
  let streamedAny = false;
  let endsWithNewline = false;
  let roundStreamed = false;
  const streamToken = (text: string) => {
    // Text from separate rounds reads as separate paragraphs; the separator streams like any token.
    if (!roundStreamed && streamedAny && !endsWithNewline) onToken('\n\n');
    roundStreamed = streamedAny = true;
    endsWithNewline = text.endsWith('\n');
    onToken(text);
  };
  try {
    for (let round = 0; ; round++) {
      roundStreamed = false;
      const offerTools = round < deps.maxToolRounds;
      const result = await streamCompletion(
        llm.client,
        {
          model: llm.model,
          messages,
          tools: offerTools ? deps.toolbox.definitions : [],
          signal,
          idleTimeoutMs: llm.idleTimeoutMs,
        },
        streamToken,
      );
      reply.tokens += result.usage.totalTokens;
      spent.tokens = reply.tokens;
      reply.estimated ||= result.usage.estimated;
      reply.finishReason = result.finishReason;
      if (result.toolCalls.length === 0 || !offerTools) break;
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
        log.push({ type: 'status', content: deps.toolbox.statusFor(call.name) });
        const record = await deps.toolbox.run(call, signal);
        reply.toolCalls.push(record);
        messages.push({ role: 'tool', tool_call_id: call.id, content: record.result });
      }
    }
  } catch (error) {
    if (!signal.aborted) throw error;
    reply.finishReason = 'stopped';
    reply.estimated = true;
    if (error instanceof TurnAborted) reply.tokens += error.estimatedTokens;
  }
  if (reply.finishReason === 'tool_calls') reply.finishReason = 'tool_limit';
  return reply;
}

async function replyOffline(
  deps: TurnDependencies,
  messages: ChatMessage[],
  onToken: (content: string) => void,
  signal: AbortSignal,
): Promise<Reply> {
  const { text, stopped } = await streamOfflineReply(onToken, signal, deps.offlineTokenDelayMs);
  return {
    tokens: estimateTokens(messages, text),
    estimated: true,
    finishReason: stopped ? 'stopped' : 'stop',
    toolCalls: [],
  };
}
