import {
  type ChatRequestBody,
  type FakeTextReply,
  type FakeToolCallsReply,
  type FakeUsage,
} from './fake-openai-types';
import {
  chunk,
  deltaChoice,
  estimateUsage,
  resolveToolCalls,
  splitArguments,
  splitText,
  toWireUsage,
  type CompletionMeta,
  type ResolvedToolCall,
  type WireUsage,
} from './openai-payloads';

export interface ResolvedReply {
  content: string | null;
  toolCalls: ResolvedToolCall[];
  finishReason: string;
  /** Absent when the script says `usage: 'none'`. */
  usage: WireUsage | undefined;
}

/** Fixes ids and usage once so the streamed and non-streamed renderings of a reply agree. */
export function resolveReply(
  reply: FakeTextReply | FakeToolCallsReply,
  body: ChatRequestBody,
): ResolvedReply {
  const toolCalls = 'toolCalls' in reply ? resolveToolCalls(reply.toolCalls) : [];
  const text = reply.text ?? '';
  const spoken = text + toolCalls.map((call) => call.name + call.arguments).join('');
  const usage: FakeUsage | undefined =
    reply.usage === 'none' ? undefined : (reply.usage ?? estimateUsage(body, spoken));
  return {
    content: 'toolCalls' in reply ? (reply.text ?? null) : text,
    toolCalls,
    finishReason: reply.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
    usage: usage && toWireUsage(usage),
  };
}

/**
 * The exact sequence of `chat.completion.chunk` objects OpenAI would stream for this reply:
 * a role chunk, content pieces, tool-call fragments, a finish chunk, then (if asked) usage.
 */
export function planChunks(
  reply: FakeTextReply | FakeToolCallsReply,
  resolved: ResolvedReply,
  body: ChatRequestBody,
  meta: CompletionMeta,
): Array<Record<string, unknown>> {
  const includeUsage = body.stream_options?.include_usage === true && resolved.usage !== undefined;
  const pendingUsage = includeUsage ? null : undefined;
  const chunkSize = 'chunkSize' in reply ? reply.chunkSize : undefined;
  const out: Array<Record<string, unknown>> = [];
  const push = (delta: Record<string, unknown>) => out.push(chunk(meta, [deltaChoice(delta)], pendingUsage));

  const pieces = resolved.content === null ? [] : splitText(resolved.content, chunkSize);
  let roleSent = false;
  if (resolved.content !== null || resolved.toolCalls.length === 0) {
    push({ role: 'assistant', content: '', refusal: null });
    roleSent = true;
    for (const piece of pieces) push({ content: piece });
  }

  const whole = 'split' in reply && reply.split === 'whole';
  resolved.toolCalls.forEach((call, index) => {
    const head = { index, id: call.id, type: 'function' };
    const fragments = whole ? [call.arguments] : splitArguments(call.arguments);
    const first = { ...head, function: { name: call.name, arguments: whole ? call.arguments : '' } };
    // OpenAI opens a tool-call-only message with `content: null` alongside the role.
    push(roleSent ? { tool_calls: [first] } : { role: 'assistant', content: null, tool_calls: [first] });
    roleSent = true;
    if (!whole)
      for (const fragment of fragments) push({ tool_calls: [{ index, function: { arguments: fragment } }] });
  });

  const usageOnFinish = includeUsage && reply.usageInEmptyChoicesChunk === false;
  out.push(
    chunk(meta, [deltaChoice({}, resolved.finishReason)], usageOnFinish ? resolved.usage : pendingUsage),
  );
  if (includeUsage && !usageOnFinish) out.push(chunk(meta, [], resolved.usage));
  return out;
}
