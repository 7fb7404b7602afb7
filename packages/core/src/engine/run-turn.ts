import type OpenAI from 'openai';
import type { Db } from '../db/db';
import { loadContext } from '../store/context';
import { appendAssistantMessage, type ToolCallRecord } from '../store/messages';
import { uniqueSources } from '../store/sources';
import { threadIdFor } from '../store/thread-id';
import { UpstreamUnavailable } from '../errors';
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
  llm: ModelClient | null;
  toolbox: Toolbox;
  maxToolRounds: number;
  systemPrompt: string;
  /** Tokens of the system prompt and tool definitions: fixed for the engine's life, so counted once. */
  fixedPromptTokens: number;
  maxContextTokens: number;
  offlineTokenDelayMs: number;
}

interface Reply {
  content: string;
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
    const messages = await buildPrompt(deps, userId);
    const onToken = (content: string) => log.push({ type: 'token', content });
    const reply = deps.llm
      ? await replyWithModel(deps, deps.llm, messages, onToken, log, signal, spent)
      : await replyOffline(deps, messages, onToken, signal);
    const stored = await appendAssistantMessage(deps.db, userId, {
      content: reply.content,
      usageTokens: reply.tokens,
      usageEstimated: reply.estimated,
      finishReason: reply.finishReason,
      toolCalls: reply.toolCalls,
    });
    log.push({
      type: 'done',
      thread_id: threadIdFor(userId),
      message_id: stored.id,
      sources: uniqueSources(reply.toolCalls.flatMap((call) => call.sources)),
      usage: { total_tokens: reply.tokens, estimated: reply.estimated },
      stopped: reply.finishReason === 'stopped',
    });
  } catch (error) {
    await chargeFailedTurn(deps.db, userId, spent.tokens + (error instanceof UpstreamUnavailable ? error.spentTokens : 0));
    log.fail(error);
  }
}

/** Rounds that completed before a failure were billed by the provider, so they count even without a reply. */
async function chargeFailedTurn(db: Db, userId: string, tokens: number): Promise<void> {
  if (tokens <= 0) return;
  try {
    await addUsage(db, userId, tokens);
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
  const reply: Reply = { content: '', tokens: 0, estimated: false, finishReason: 'stop', toolCalls: [] };
  let roundText = '';
  const streamToken = (text: string) => {
    // Text from separate rounds reads as separate paragraphs; the separator streams like any token.
    if (roundText === '' && reply.content !== '' && !reply.content.endsWith('\n')) {
      reply.content += '\n\n';
      onToken('\n\n');
    }
    roundText += text;
    reply.content += text;
    onToken(text);
  };
  try {
    for (let round = 0; ; round++) {
      roundText = '';
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
        content: result.text || null,
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
    content: text,
    tokens: estimateTokens(messages, text),
    estimated: true,
    finishReason: stopped ? 'stopped' : 'stop',
    toolCalls: [],
  };
}
