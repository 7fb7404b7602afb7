import type { DatabaseGuard } from '../db/database-guard';
import type { Db } from '../db/db';
import { chargeModelCall } from '../store/ledger';
import { setAutoTitle } from '../store/threads';
import { countTokens } from '../tokens';
import type { ModelClient } from './run-turn';

/** Not a tool round: the ledger keys a turn's model calls by round, and the title call is one of them. */
export const TITLE_ROUND = 1_000;
const TITLE_CHARS = 60;
const TITLE_TIMEOUT_MS = 10_000;
/** Lets OpenAI-compatible test servers (and proxies' logs) tell the title call from a reply. */
export const TITLE_PURPOSE_HEADER = 'x-fixthread-purpose';

const TITLE_PROMPT =
  'Write a title of at most six words for this repair conversation: the device and the problem, e.g. ' +
  '"iPhone 12 cracked screen". Answer with the title only, no quotes or punctuation at the end.';

export interface TitleJob {
  userId: string;
  threadId: string;
  turnId: string;
  question: string;
  answer: string;
}

/**
 * Names a thread after its first answer: a short model call, charged to the ledger like any other, or, with
 * no model or when the call fails, the first words of the question. Only an untitled thread is named, so a
 * rename by the user always wins, even one made while this runs.
 */
export async function titleThread(
  deps: { db: Db; guard: DatabaseGuard; llm: ModelClient | null },
  job: TitleJob,
): Promise<void> {
  const fromModel = deps.llm ? await modelTitle(deps, deps.llm, job).catch(() => undefined) : undefined;
  const title = fromModel || heuristicTitle(job.question);
  if (title) await deps.guard(() => setAutoTitle(deps.db, job.userId, job.threadId, title));
}

async function modelTitle(deps: { db: Db; guard: DatabaseGuard }, llm: ModelClient, job: TitleJob): Promise<string | undefined> {
  const messages = [
    { role: 'system' as const, content: TITLE_PROMPT },
    { role: 'user' as const, content: `Question: ${job.question.slice(0, 600)}\n\nAnswer: ${job.answer.slice(0, 600)}` },
  ];
  const completion = await llm.client.chat.completions.create(
    { model: llm.model, messages, max_tokens: 24, temperature: 0.2 },
    { headers: { [TITLE_PURPOSE_HEADER]: 'title' }, maxRetries: 0, timeout: TITLE_TIMEOUT_MS },
  );
  const text = completion.choices[0]?.message.content ?? '';
  const usage = completion.usage;
  const promptTokens = usage?.prompt_tokens ?? countTokens(messages.map((m) => m.content).join('\n'));
  const completionTokens = usage?.completion_tokens ?? countTokens(text);
  await deps.guard(() =>
    chargeModelCall(deps.db, job.userId, job.turnId, {
      round: TITLE_ROUND,
      promptTokens,
      completionTokens,
      totalTokens: usage?.total_tokens ?? promptTokens + completionTokens,
      cachedTokens: usage?.prompt_tokens_details?.cached_tokens ?? null,
      estimated: !usage,
    }),
  );
  return cleanTitle(text);
}

/** The question's first words, whole, within the title's length. */
export function heuristicTitle(question: string): string {
  return cleanTitle(question.split('\n').find((line) => line.trim() !== '') ?? '');
}

function cleanTitle(raw: string): string {
  const text = raw.replace(/\s+/g, ' ').trim().replace(/^["'“”‘’]+|["'“”‘’.!?:;,]+$/g, '');
  if (text.length <= TITLE_CHARS) return text;
  const cut = text.slice(0, TITLE_CHARS);
  const lastSpace = cut.lastIndexOf(' ');
  return `${(lastSpace > TITLE_CHARS / 2 ? cut.slice(0, lastSpace) : cut).trimEnd()}…`;
}
