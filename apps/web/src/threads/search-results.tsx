import { keepPreviousData, skipToken, useQuery } from '@tanstack/react-query';
import type { SearchResult, SnippetPart, ThreadSummary } from '../api-types';
import { useTRPC } from '../trpc';
import { useDebouncedValue } from '../ui/use-debounced-value';
import { canonicalThreadKey } from './thread-key';
import { readableSnippet } from './snippet';
import { displayTitle, formatActivity } from './thread-format';

/** Typing settles for this long before a search is sent. */
export const SEARCH_DEBOUNCE_MS = 300;
/** Shorter queries match nearly everything. */
export const SEARCH_MIN_CHARS = 2;
const SEARCH_LIMIT = 20;

/** A snippet with its matching words marked. */
export function Snippet({ parts }: { parts: SnippetPart[] }) {
  return (
    <>
      {readableSnippet(parts).map((part, index) =>
        part.match ? <mark key={index}>{part.text}</mark> : <span key={index}>{part.text}</span>,
      )}
    </>
  );
}

interface SearchResultsProps {
  query: string;
  threads: ThreadSummary[];
  onOpen: (result: SearchResult) => void;
}

/** Messages matching the query, in every thread, each opening its thread at that message. */
export function SearchResults({ query, threads, onOpen }: SearchResultsProps) {
  const trpc = useTRPC();
  const typed = query.trim();
  const settled = useDebouncedValue(typed, SEARCH_DEBOUNCE_MS);
  const searchable = settled.length >= SEARCH_MIN_CHARS;
  const search = useQuery(
    trpc.chat.search.queryOptions(searchable ? { q: settled, limit: SEARCH_LIMIT } : skipToken, {
      placeholderData: keepPreviousData,
      staleTime: 10_000,
    }),
  );
  const waiting = typed !== settled || (searchable && (search.isPending || search.isPlaceholderData));
  const results = searchable ? (search.data?.results ?? []) : [];

  let status: string;
  if (typed.length < SEARCH_MIN_CHARS) status = `Type at least ${SEARCH_MIN_CHARS} characters to search.`;
  else if (waiting) status = 'Searching…';
  else if (search.isError) status = 'Search isn’t available right now.';
  else if (results.length === 0) status = `No messages match “${settled}”.`;
  else status = results.length === 1 ? '1 message found' : `${results.length} messages found`;

  return (
    <div className="search-results" aria-busy={waiting}>
      <p className="search-status muted" role="status">
        {status}
        {search.isError && !waiting && (
          <>
            {' '}
            <button type="button" className="link-button" onClick={() => void search.refetch()}>
              Try again
            </button>
          </>
        )}
      </p>
      {results.length > 0 && (
        <ul className="search-result-list" aria-label="Search results">
          {results.map((result) => {
            const listed = threads.find((thread) => thread.id === result.thread_id);
            const title = result.thread_title ?? displayTitle(listed ?? { title: null, message_count: 1 });
            const key = canonicalThreadKey(result.thread_id, threads);
            return (
              <li key={`${result.thread_id}:${result.message_id}`}>
                <button
                  type="button"
                  className="search-result"
                  data-thread={key ?? ''}
                  data-message-id={result.message_id}
                  onClick={() => onOpen(result)}
                >
                  <span className="search-result-head">
                    <span className="search-result-title">{title}</span>
                    <time className="search-result-time" dateTime={result.timestamp}>
                      {formatActivity(result.timestamp)}
                    </time>
                  </span>
                  <span className="search-result-snippet">
                    <span className="search-result-role">{result.role === 'user' ? 'You: ' : 'FixThread: '}</span>
                    <Snippet parts={result.snippet} />
                  </span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
