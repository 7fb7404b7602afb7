import type OpenAI from 'openai';
import type { Db } from '../db/db';
import type { Source } from '../db/schema';
import { loadContext } from '../store/context';
import { appendAssistantMessage, type ToolCallRecord } from '../store/messages';
import { threadIdFor } from '../store/thread-id';
import { countTokens, MESSAGE_OVERHEAD_TOKENS } from '../tokens';
import type { ChatMessage } from './llm/chat-message';
import { estimateTokens, streamCompletion, TurnAborted } from './llm/stream-completion';
import { streamOfflineReply } from './offline-responder';
import type { Toolbox } from './tools/toolbox';
import type { TurnLog } from './turn-log';

export interface TurnDependencies {
  db: Db;
  llm: { client: OpenAI; model: string } | null;
  toolbox: Toolbox;
  maxToolRounds: number;
  systemPrompt: string;
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
  try {
    const messages = await buildPrompt(deps, userId);
    const onToken = (content: string) => log.push({ type: 'token', content });
    const reply = deps.llm
      ? await replyWithModel(deps, deps.llm, messages, onToken, log, signal)
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
      sources: uniqueSources(reply.toolCalls),
      usage: { total_tokens: reply.tokens, estimated: reply.estimated },
      stopped: reply.finishReason === 'stopped',
    });
  } catch (error) {
    log.fail(error);
  }
}

async function buildPrompt(deps: TurnDependencies, userId: string): Promise<ChatMessage[]> {
  const fixed =
    countTokens(deps.systemPrompt) +
    MESSAGE_OVERHEAD_TOKENS +
    (deps.llm ? countTokens(JSON.stringify(deps.toolbox.definitions)) : 0);
  const history = await loadContext(deps.db, userId, { maxTokens: Math.max(deps.maxContextTokens - fixed, 1) });
  return [{ role: 'system', content: deps.systemPrompt }, ...history];
}

async function replyWithModel(
  deps: TurnDependencies,
  llm: { client: OpenAI; model: string },
  messages: ChatMessage[],
  onToken: (content: string) => void,
  log: TurnLog,
  signal: AbortSignal,
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
        { model: llm.model, messages, tools: offerTools ? deps.toolbox.definitions : [], signal },
        streamToken,
      );
      reply.tokens += result.usage.totalTokens;
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

function uniqueSources(calls: ToolCallRecord[]): Source[] {
  const seen = new Set<string>();
  return calls.flatMap((call) => call.sources).filter((source) => !seen.has(source.url) && seen.add(source.url));
}
