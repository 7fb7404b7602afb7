import type { RouterOutputs, TurnEvent } from '@fixthread/client';

type ChatOutputs = RouterOutputs['chat'];

export type History = ChatOutputs['history'];
export type HistoryMessage = History['messages'][number];
export type Source = HistoryMessage['sources'][number];
export type SessionStats = ChatOutputs['sessions'];

type Yielded<T> = T extends AsyncIterable<infer Item> ? Item : never;

/** What `chat.stream` yields: a tracked `{ id, data }` envelope, so a reconnecting socket resumes the turn. */
export type StreamEnvelope = Yielded<ChatOutputs['stream']>;
export type { TurnEvent };
export type DoneEvent = Extract<TurnEvent, { type: 'done' }>;

type ThreadOutputs = RouterOutputs['threads'];

export type ThreadPage = ThreadOutputs['list'];
export type ThreadSummary = ThreadPage['threads'][number];
export type SearchResult = ChatOutputs['search']['results'][number];
export type SnippetPart = SearchResult['snippet'][number];
