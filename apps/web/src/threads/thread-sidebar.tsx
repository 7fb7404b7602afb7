import { useId, useState, type ReactNode, type RefObject } from 'react';
import type { SearchResult, ThreadSummary } from '../api-types';
import { SearchResults } from './search-results';
import { ThreadItem, type ThreadActions } from './thread-item';
import { isThread, storageKey, threadKeyOf, type ThreadKey } from './thread-key';

interface ThreadSidebarProps extends ThreadActions {
  threads: ThreadSummary[];
  selected: ThreadKey;
  listStatus: 'pending' | 'error' | 'success';
  onRetryList: () => void;
  hasMore: boolean;
  loadingMore: boolean;
  onLoadMore: () => void;
  /** Storage keys (see thread-key) of the threads a reply is streaming on. */
  streaming: ReadonlySet<string>;
  creating: boolean;
  onCreate: () => void;
  onOpenResult: (result: SearchResult) => void;
  /** The thread shown, chosen again (the new, unlisted one): in the drawer, that closes it. */
  onReselect: () => void;
  /** In the drawer: a button that closes it. */
  closeButton?: ReactNode;
  /** The New conversation button, where focus goes when the thread it was on is deleted. */
  newThreadRef?: RefObject<HTMLButtonElement | null>;
}

/** The thread list: a new thread, a search across all of them, and each thread with its actions. */
export function ThreadSidebar(props: ThreadSidebarProps) {
  const { threads, selected, listStatus, creating, onCreate, onOpenResult, closeButton, newThreadRef } = props;
  const [query, setQuery] = useState('');
  const searchId = useId();
  const headingId = useId();
  const searching = query.trim() !== '';
  // A thread that is new (the default one before its first message) isn't listed yet; it is shown anyway.
  const unlisted = listStatus === 'success' && !threads.some((thread) => isThread(thread, selected));

  return (
    <aside className="sidebar" aria-labelledby={headingId}>
      <div className="sidebar-head">
        <span className="brand">
          <span className="brand-mark" aria-hidden="true" />
          <span>FixThread</span>
        </span>
        {closeButton}
      </div>
      <h2 id={headingId} className="visually-hidden">
        Conversations
      </h2>
      <button ref={newThreadRef} type="button" className="button button-primary new-thread" disabled={creating} onClick={onCreate}>
        <svg aria-hidden="true" viewBox="0 0 24 24" width="16" height="16" fill="none" stroke="currentColor" strokeWidth="2.2">
          <path d="M12 5v14M5 12h14" strokeLinecap="round" />
        </svg>
        New conversation
      </button>
      <div className="thread-search" role="search">
        <label htmlFor={searchId} className="visually-hidden">
          Search conversations
        </label>
        <svg aria-hidden="true" viewBox="0 0 24 24" width="16" height="16" fill="none" stroke="currentColor" strokeWidth="2">
          <circle cx="11" cy="11" r="6.5" />
          <path d="M16 16l4 4" strokeLinecap="round" />
        </svg>
        <input
          id={searchId}
          type="search"
          placeholder="Search conversations"
          autoComplete="off"
          value={query}
          onChange={(event) => setQuery(event.target.value)}
          onKeyDown={(event) => {
            if (event.key === 'Escape' && query !== '') {
              // Clears the search first; a second Escape closes the drawer.
              event.preventDefault();
              event.stopPropagation();
              setQuery('');
            }
          }}
        />
      </div>
      <div className="sidebar-scroll">
        {searching ? (
          <SearchResults query={query} threads={threads} onOpen={onOpenResult} />
        ) : (
          <ThreadList {...props} unlisted={unlisted} />
        )}
      </div>
    </aside>
  );
}

function ThreadList({
  threads,
  selected,
  listStatus,
  onRetryList,
  hasMore,
  loadingMore,
  onLoadMore,
  streaming,
  unlisted,
  onReselect,
  ...actions
}: ThreadSidebarProps & { unlisted: boolean }) {
  if (listStatus === 'pending') {
    return (
      <p className="muted sidebar-note" role="status">
        Loading conversations…
      </p>
    );
  }
  if (listStatus === 'error') {
    return (
      <div className="sidebar-note" role="alert">
        <p>Couldn’t load your conversations.</p>
        <button type="button" className="button" onClick={onRetryList}>
          Retry
        </button>
      </div>
    );
  }
  return (
    <>
      <ul className="thread-list" aria-label="Conversations">
        {unlisted && (
          <li className="thread-item current">
            <button type="button" className="thread-link" aria-current="page" onClick={onReselect}>
              <span className="thread-title">New conversation</span>
              <span className="thread-meta">{streaming.has(storageKey(selected)) ? 'Answering…' : 'No messages yet'}</span>
            </button>
          </li>
        )}
        {threads.map((thread) => {
          return (
            <ThreadItem
              key={thread.id}
              thread={thread}
              current={isThread(thread, selected)}
              streaming={streaming.has(storageKey(threadKeyOf(thread)))}
              onSelect={actions.onSelect}
              onRename={actions.onRename}
              onDelete={actions.onDelete}
              onExport={actions.onExport}
            />
          );
        })}
      </ul>
      {threads.length === 0 && !unlisted && <p className="muted sidebar-note">No conversations yet.</p>}
      {hasMore && (
        <button type="button" className="button button-quiet load-more-threads" disabled={loadingMore} onClick={onLoadMore}>
          {loadingMore ? 'Loading…' : 'Show older conversations'}
        </button>
      )}
    </>
  );
}
