import type OpenAI from 'openai';
import type { Db } from '../db/db';
import { attachmentsOfMessages, imagesForContext, type ContextImage } from '../store/attachments';
import { loadContextRows, type ContextRow } from '../store/context';
import type { ChatMessage } from './llm/chat-message';
import { planPhotos, type PhotoPlan } from './photo-budget';

type ContentPart = OpenAI.Chat.Completions.ChatCompletionContentPart;

export interface PromptDependencies {
  db: Db;
  systemPrompt: string;
  /** Tokens of the system prompt and tool definitions. */
  fixedPromptTokens: number;
  maxContextTokens: number;
  /** The model the prompt is for, whose metering prices its photos; null for the offline responder. */
  model: string | null;
}

export interface Prompt {
  messages: ChatMessage[];
  /** Prompt tokens of the photos in `messages`, which the tokenizer cannot count: for estimates. */
  imageTokens: number;
  /** How many photos the question itself came with. */
  questionPhotos: number;
}

/**
 * The system prompt and as much of the thread as fits the context budget, its photos as the openai SDK's
 * image content parts (see `planPhotos` for which fit). Only the photos that go are read from the database.
 */
export async function buildPrompt(
  deps: PromptDependencies,
  turn: { userId: string; threadId: string; userMessageId: number; context?: ContextRow[] | undefined },
): Promise<Prompt> {
  const budget = contextBudget(deps);
  const rows = turn.context ?? (await loadContextRows(deps.db, turn.userId, { maxTokens: budget, threadId: turn.threadId }));
  const questionIds = rows.filter((row) => row.hasPhotos).map((row) => row.id);
  const photos = await attachmentsOfMessages(deps.db, turn.userId, questionIds);
  const questionPhotos = photos.filter((photo) => photo.messageId === turn.userMessageId).length;
  if (photos.length === 0 || deps.model === null) {
    // The offline responder reads the question's words; it cannot look at photos, so none are loaded.
    return { messages: withSystemPrompt(deps, rows.map(textOnly)), imageTokens: 0, questionPhotos };
  }
  const plan = planPhotos({ model: deps.model, budget, rows, photos, questionId: turn.userMessageId });
  const images = await imagesForContext(deps.db, turn.userId, [...plan.shown.keys()]);
  const imagesOf = new Map<number, ContextImage[]>();
  for (const image of images) imagesOf.set(image.messageId, [...(imagesOf.get(image.messageId) ?? []), image]);
  const messages = plan.rows.map((row) => withPhotos(row, plan, imagesOf.get(row.id) ?? []));
  return { messages: withSystemPrompt(deps, messages), imageTokens: plan.tokens, questionPhotos };
}

/** Tokens the thread's messages may take: the context, less the system prompt and tool definitions. */
export function contextBudget(deps: Pick<PromptDependencies, 'maxContextTokens' | 'fixedPromptTokens'>): number {
  return Math.max(deps.maxContextTokens - deps.fixedPromptTokens, 1);
}

function withSystemPrompt(deps: PromptDependencies, history: ChatMessage[]): ChatMessage[] {
  // A reply stopped before its first token is stored empty; it tells the model nothing. (A question is empty
  // only when it came with photos, which it then carries, or for the offline responder, which answers it.)
  const meaningful = history.filter((message) => message.role !== 'assistant' || message.content !== '');
  return [{ role: 'system', content: deps.systemPrompt }, ...meaningful];
}

function textOnly({ role, content }: ContextRow): ChatMessage {
  return { role, content };
}

function withPhotos(row: ContextRow, plan: PhotoPlan, images: ContextImage[]): ChatMessage {
  const detail = plan.shown.get(row.id);
  if (row.role === 'user' && detail && images.length > 0) {
    const parts: ContentPart[] = row.content === '' ? [] : [{ type: 'text', text: row.content }];
    for (const image of images) {
      parts.push({ type: 'image_url', image_url: { url: `data:${image.contentType};base64,${image.bytes.toString('base64')}`, detail } });
    }
    return { role: 'user', content: parts };
  }
  const hidden = plan.hidden.get(row.id);
  if (!hidden) return textOnly(row);
  // The model should know a photo was there, or it would answer as if the message had said everything.
  const note = `[${hidden === 1 ? 'photo' : `${hidden} photos`} not shown: over the context budget]`;
  return { role: row.role, content: row.content === '' ? note : `${row.content}\n\n${note}` };
}
