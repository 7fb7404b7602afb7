import { randomUUID } from 'node:crypto';
import type { Source } from '../db/schema';
import type { ToolCallRecord } from '../store/messages';
import { greetingAnswer, guidesAnswer, noGuidesAnswer, OFFLINE_GUIDES, PHOTOS_UNSEEN, unreachableAnswer } from './offline-answer';
import { searchQueryOf, shorterQueryOf } from './offline-query';
import { GET_IFIXIT_GUIDE, readGuideProjection, readSearchProjection, SEARCH_IFIXIT_GUIDES } from './tools/ifixit';
import type { Toolbox } from './tools/toolbox';

export interface OfflineReplyTarget {
  toolbox: Toolbox;
  status(text: string): void;
  token(text: string): void;
  signal: AbortSignal;
  /** Pause between streamed words, so the answer arrives the way a model's would. */
  delayMs: number;
  /** The question came with photos, which only a model could look at: the answer says so first. */
  hasPhotos?: boolean;
}

export interface OfflineReply {
  /** The lookups made, recorded like a model turn's so history shows the same guide cards. */
  toolCalls: ToolCallRecord[];
  stopped: boolean;
}

/**
 * With no model configured, does what it can without one: searches iFixit with the model's own tools (same
 * client, timeout and records), reads the best guide, and streams its steps with the other matches. No model
 * runs, so nothing here is charged.
 */
export async function replyFromGuides(question: string, target: OfflineReplyTarget): Promise<OfflineReply> {
  const toolCalls: ToolCallRecord[] = [];
  const run = async (name: string, args: Record<string, unknown>): Promise<ToolCallRecord> => {
    target.status(target.toolbox.statusFor(name));
    const record = await target.toolbox.run({ id: `offline-${randomUUID()}`, name, arguments: JSON.stringify(args) }, target.signal);
    toolCalls.push(record);
    return record;
  };
  try {
    const answer = await composeAnswer(question, run);
    return { toolCalls, stopped: await streamWords(target.hasPhotos ? `${PHOTOS_UNSEEN}\n\n${answer}` : answer, target) };
  } catch (error) {
    // The toolbox gives up only when the turn itself was aborted: the user pressed stop.
    if (!target.signal.aborted) throw error;
    return { toolCalls, stopped: true };
  }
}

type RunTool = (name: string, args: Record<string, unknown>) => Promise<ToolCallRecord>;

async function composeAnswer(question: string, run: RunTool): Promise<string> {
  const query = searchQueryOf(question);
  if (!query) return greetingAnswer();
  let used = query;
  let search = await run(SEARCH_IFIXIT_GUIDES, { query });
  const shorter = shorterQueryOf(query);
  if (search.ok && search.sources.length === 0 && shorter) {
    used = shorter;
    search = await run(SEARCH_IFIXIT_GUIDES, { query: shorter });
  }
  if (!search.ok) return unreachableAnswer();
  // The cards under the answer are the guides it lists, not every hit of the search.
  search.sources = search.sources.slice(0, OFFLINE_GUIDES);
  const top = search.sources[0];
  if (!top) return noGuidesAnswer(query);
  const fetched = await readBestGuide(run, search.result, top);
  // The guide's own page words some facts better than the search does (its time as a range, not a maximum).
  const detail = fetched?.sources.find((source) => source.url === top.url);
  if (detail) search.sources[0] = { ...top, ...detail };
  return guidesAnswer(used, search.sources, fetched && readGuideProjection(fetched.result));
}

/** The best guide's details, as `get_ifixit_guide` found them; undefined when they could not be read. */
async function readBestGuide(run: RunTool, searchResult: string, top: Source): Promise<ToolCallRecord | undefined> {
  const guideid = readSearchProjection(searchResult).find((guide) => guide.url === top.url)?.guideid;
  if (guideid === undefined) return undefined;
  const fetched = await run(GET_IFIXIT_GUIDE, { guideid });
  return fetched.ok ? fetched : undefined;
}

/** Streams word by word (whitespace kept), so no multi-byte character is ever split. Resolves `stopped`. */
async function streamWords(answer: string, target: OfflineReplyTarget): Promise<boolean> {
  for (const piece of answer.match(/\s*\S+/g) ?? []) {
    if (target.signal.aborted) return true;
    target.token(piece);
    if (target.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, target.delayMs));
  }
  return target.signal.aborted;
}
