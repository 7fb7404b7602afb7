import type { ChatRequestBody, FakeReply, FakeResponder } from '@fixthread/testing';
import type { Random } from './random';

/**
 * What the fake model is asked, and what it answers. Every soak question names its idempotency key and the
 * shape of its reply, so the model's answer (and so the stored reply) is known from the question alone:
 * `[soak u1-t0-7 long 80] My console will not turn on.`
 */
/** `broken`: the model's stream breaks partway (its socket reset), so the turn fails with text already streamed. */
export type ReplyShape = 'short' | 'long' | 'tool' | 'broken';

export interface Question {
  key: string;
  shape: ReplyShape;
  words: number;
  message: string;
}

const DEVICES = ['phone', 'console', 'dishwasher', 'laptop', 'kettle', 'tablet'];
const PROBLEMS = [
  'will not turn on',
  'has a cracked screen',
  'leaks water',
  'overheats',
  'makes a clicking noise',
];
/** Milliseconds between the reply's chunks: long replies stream for seconds, so drops and stops land mid-stream. */
const PACING: Record<ReplyShape, number> = { short: 5, long: 25, tool: 20, broken: 20 };

export function askQuestion(random: Random, key: string): Question {
  const shape = random.weighted<ReplyShape>({ short: 3, long: 5, tool: 2, broken: 0.5 });
  const words = shape === 'short' ? random.int(6, 20) : random.int(30, 110);
  const message = `[soak ${key} ${shape} ${words}] My ${random.pick(DEVICES)} ${random.pick(PROBLEMS)}, what should I try?`;
  return { key, shape, words, message };
}

export function parseQuestion(message: string): Question | undefined {
  const match = /^\[soak (\S+) (short|long|tool|broken) (\d+)\]/.exec(message);
  if (!match) return undefined;
  return { key: match[1]!, shape: match[2] as ReplyShape, words: Number(match[3]), message };
}

/** The whole reply to a question: a stopped or interrupted reply is saved as a prefix of it. */
export function expectedReply(question: Pick<Question, 'key' | 'words'>): string {
  const steps = Array.from({ length: question.words }, (_, i) => `step${i + 1}`).join(' ');
  return `Answer ${question.key}: ${steps}.`;
}

function lastUserText(body: ChatRequestBody): string {
  const last = body.messages.findLast((message) => message.role === 'user');
  const content = last?.content;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => ((part as { text?: unknown }).text as string | undefined) ?? '').join('');
}

/** A tool result after the last question: the model has looked the guide up and now answers. */
function hasToolResult(body: ChatRequestBody): boolean {
  const lastUser = body.messages.findLastIndex((message) => message.role === 'user');
  return body.messages.slice(lastUser + 1).some((message) => message.role === 'tool');
}

export const soakResponder: FakeResponder = (body) => {
  const question = parseQuestion(lastUserText(body));
  if (!question) return { text: 'Not a soak question.' };
  const usage = { prompt_tokens: 40, completion_tokens: question.words + 4 };
  if (question.shape === 'tool' && !hasToolResult(body)) {
    const reply: FakeReply = {
      toolCalls: [{ name: 'search_ifixit_guides', arguments: JSON.stringify({ query: 'iPhone 12 screen' }) }],
      usage: { prompt_tokens: 30, completion_tokens: 12 },
      delayMsBetweenChunks: PACING.tool,
    };
    return reply;
  }
  if (question.shape === 'broken') {
    return { text: expectedReply(question), dropAfterChunks: 10, delayMsBetweenChunks: PACING.broken };
  }
  return { text: expectedReply(question), usage, delayMsBetweenChunks: PACING[question.shape] };
};
