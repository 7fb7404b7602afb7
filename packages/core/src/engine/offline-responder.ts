import { decode, encode } from 'gpt-tokenizer';

export const OFFLINE_REPLY = `FixThread is running offline: no language model is configured, so I can't diagnose repairs yet.

To connect one, set \`OPENAI_API_KEY\` and restart the server. Any OpenAI-compatible server works: set \`OPENAI_BASE_URL\` and \`OPENAI_MODEL\` too for Ollama, vLLM, llama.cpp server or LM Studio (for example \`OPENAI_BASE_URL=http://localhost:11434/v1\`, \`OPENAI_MODEL=llama3.1\`, any non-empty key).

Your message has been saved, and your history and usage stats work as usual.`;

/**
 * Streams the offline notice one real token at a time through the same pipeline as a model reply, so the
 * product works end to end without a model and says plainly why it cannot help.
 */
export async function streamOfflineReply(
  onToken: (text: string) => void,
  signal: AbortSignal,
  delayMs: number,
): Promise<{ text: string; stopped: boolean }> {
  let text = '';
  for (const token of encode(OFFLINE_REPLY)) {
    if (signal.aborted) return { text, stopped: true };
    const piece = decode([token]);
    text += piece;
    onToken(piece);
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
  return { text, stopped: signal.aborted };
}
