import { SpanStatusCode } from '@opentelemetry/api';
import type { ToolCallRecord } from '../../store/messages';
import { inSpan } from '../../tracing';
import type { ToolCallRequest, ToolDefinition } from '../llm/chat-message';
import type { ToolOptions } from '../options';
import { ifixitTools } from './ifixit';
import type { Tool } from './tool';
import { webSearchTool } from './web-search';

export interface Toolbox {
  definitions: ToolDefinition[];
  statusFor(name: string): string;
  /** Never throws and never outlives the tool timeout: a failure becomes a result that says so. */
  run(call: ToolCallRequest, turnSignal: AbortSignal): Promise<ToolCallRecord>;
}

export function createToolbox(options: ToolOptions): Toolbox {
  const tools = [
    ...ifixitTools({ baseUrl: options.ifixitApiUrl, userAgent: options.userAgent }),
    ...(options.webSearch ? [webSearchTool(options.webSearch, options.userAgent)] : []),
  ];
  const byName = new Map<string, Tool>(tools.map((tool) => [tool.definition.function.name, tool]));
  return {
    definitions: tools.map((tool) => tool.definition),
    statusFor: (name) => byName.get(name)?.status ?? '🛠️ Working...',
    run: (call, turnSignal) => traceToolCall(call, async () => {
      const args = parseArguments(call.arguments);
      const tool = byName.get(call.name);
      const failed = (reason: string): ToolCallRecord => ({
        name: call.name,
        arguments: args ?? call.arguments,
        ok: false,
        result: `The ${call.name} tool failed (${reason}). Answer from your own knowledge and say the lookup was unavailable.`,
        sources: [],
      });
      if (!tool) return failed('no such tool');
      if (!args) return failed('its arguments were not valid JSON');
      const signal = AbortSignal.any([turnSignal, AbortSignal.timeout(options.timeoutMs)]);
      try {
        const output = await raceAbort(tool.run(args, signal), signal);
        return { name: call.name, arguments: args, ok: true, ...output };
      } catch (error) {
        if (turnSignal.aborted) throw error;
        return failed(signal.aborted ? `timed out after ${options.timeoutMs} ms` : describe(error));
      }
    }),
  };
}

/** GenAI semantic conventions' `execute_tool {name}`. A throw here is the turn being stopped, not the tool failing. */
function traceToolCall(call: ToolCallRequest, run: () => Promise<ToolCallRecord>): Promise<ToolCallRecord> {
  const attributes = {
    'gen_ai.operation.name': 'execute_tool',
    'gen_ai.tool.name': call.name,
    'gen_ai.tool.call.id': call.id,
    'gen_ai.tool.type': 'function',
  };
  return inSpan(
    `execute_tool ${call.name}`,
    { attributes },
    async (span) => {
      const record = await run();
      span.setAttributes({ 'fixthread.tool.ok': record.ok, 'fixthread.tool.sources': record.sources.length });
      if (!record.ok) span.setStatus({ code: SpanStatusCode.ERROR, message: record.result });
      return record;
    },
    () => false,
  );
}

function parseArguments(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text.trim() === '' ? '{}' : text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Settles at the deadline even if the tool ignores its signal, so no tool can hang a turn. */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    // Handlers go on the work first: a tool started with an already-aborted signal still rejects (its fetch
    // throws AbortError), and an unhandled rejection there would end the process (found by the soak).
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message.slice(0, 200) : 'unknown error';
}
