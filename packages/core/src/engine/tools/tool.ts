import type { Source } from '../../db/schema';
import type { ToolDefinition } from '../llm/chat-message';

export interface ToolOutput {
  /** Compact text for the model: a projection, never the raw upstream payload. */
  result: string;
  sources: Source[];
}

export interface Tool {
  definition: ToolDefinition;
  /** Shown to the user while the tool runs. */
  status: string;
  run(args: Record<string, unknown>, signal: AbortSignal): Promise<ToolOutput>;
}

/** Reads a required non-empty string argument the model supplied. */
export function stringArg(args: Record<string, unknown>, name: string): string {
  const value = args[name];
  if (typeof value !== 'string' || value.trim() === '') throw new Error(`argument "${name}" must be a non-empty string`);
  // Model text becomes a URL path segment; a segment of only dots would walk up the API's path.
  if (/^[.\s]+$/.test(value)) throw new Error(`argument "${name}" must contain words`);
  return value.trim();
}
