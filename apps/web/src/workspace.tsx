import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { useApiToken } from './api-provider';
import type { SearchResult, ThreadSummary } from './api-types';
import { ChatScreen } from './chat/chat-screen';
import { useChatTurns } from './chat/chat-turns-context';
import { describeError } from './chat/describe-error';
import { ModelBanner } from './connection/model-banner';
import { exportThread } from './threads/export-thread';
import { displayTitle } from './threads/thread-format';
import type { ExportFormat } from './threads/thread-item';
import { canonicalThreadKey, isThread, storageKey, threadKeyOf, type ThreadKey } from './threads/thread-key';
import { neighbourOf } from './threads/thread-pages';
import { ThreadSidebar } from './threads/thread-sidebar';
import { useSelectedThread } from './threads/use-selected-thread';
import { useThreadList, useThreadMutations } from './threads/use-threads';
import { useAnnounce } from './ui/announcer';
import { ConfirmDialog } from './ui/confirm-dialog';
import { Drawer } from './ui/drawer';
import { useMediaQuery } from './ui/use-media-query';

/** Below this width the thread list is a drawer over the conversation instead of a column beside it. */
export const DRAWER_QUERY = '(max-width: 767px)';
const DRAWER_ID = 'threads-drawer';

interface Target {
  key: ThreadKey;
  messageId: number;
}

/** The signed-in screen: the thread list (a sidebar, or a drawer on a phone) and the thread it shows. */
export function Workspace() {
  const { key, select } = useSelectedThread();
  const narrow = useMediaQuery(DRAWER_QUERY);
  const [drawerOpen, setDrawerOpen] = useState(false);
  const [target, setTarget] = useState<Target | null>(null);
  const [deleting, setDeleting] = useState<ThreadSummary | null>(null);
  const menuButtonRef = useRef<HTMLButtonElement>(null);
  const newThreadRef = useRef<HTMLButtonElement>(null);
  const list = useThreadList();
  const { create, rename, remove, forgetThread } = useThreadMutations();
  const { turns } = useChatTurns();
  const streaming = useSyncExternalStore(turns.subscribe, turns.streaming);
  const announce = useAnnounce();
  const token = useApiToken();
  const { threads } = list;
  const current = threads.find((thread) => isThread(thread, key));

  // The default thread named by its own id (an old link): one spelling per thread, so one cache entry.
  useEffect(() => {
    if (key !== null && current?.is_default) select(null, { replace: true });
  }, [key, current, select]);

  const title = displayTitle(current);
  useEffect(() => {
    document.title = `${title} · FixThread`;
    return () => {
      document.title = 'FixThread';
    };
  }, [title]);

  // Leaving phone width with the drawer open leaves nothing to close it with.
  useEffect(() => {
    if (!narrow) setDrawerOpen(false);
  }, [narrow]);

  const open = useCallback(
    (next: ThreadKey) => {
      select(next);
      setDrawerOpen(false);
    },
    [select],
  );

  const onMissingThread = useCallback(() => {
    announce('That conversation no longer exists.');
    select(null, { replace: true });
  }, [announce, select]);

  const onTargetHandled = useCallback(
    (found: boolean) => {
      setTarget(null);
      if (!found) announce('That message is no longer in the conversation.');
    },
    [announce],
  );

  const openResult = (result: SearchResult) => {
    const resultKey = canonicalThreadKey(result.thread_id, threads);
    setTarget({ key: resultKey, messageId: result.message_id });
    open(resultKey);
  };

  const createThread = () =>
    create.mutate(
      {},
      {
        onSuccess: (thread) => {
          open(threadKeyOf(thread));
          announce('New conversation started.');
        },
        onError: (error) => announce(`Couldn’t start a new conversation: ${describeError(error).detail}`),
      },
    );

  const renameThread = async (thread: ThreadSummary, title: string) => {
    await rename.mutateAsync({ threadId: thread.id, title });
    announce(`Renamed to ${title}.`);
  };

  const confirmDelete = () => {
    if (!deleting) return;
    const doomed = deleting;
    const doomedKey = threadKeyOf(doomed);
    const next = neighbourOf(threads, doomed.id);
    remove.mutate(
      { threadId: doomed.id },
      {
        onSuccess: () => {
          setDeleting(null);
          announce(`Deleted ${displayTitle(doomed)}.`);
          // The thread shown is gone: show its neighbour, without a history entry pointing at nothing.
          if (doomedKey === key) select(next ? threadKeyOf(next) : null, { replace: true });
          forgetThread(doomedKey);
        },
      },
    );
  };

  const exportAs = (thread: ThreadSummary, format: ExportFormat) => {
    exportThread(token, thread, format).then(
      (name) => announce(`Exported ${name}.`),
      (error: unknown) => announce(`Couldn’t export the conversation: ${error instanceof Error ? error.message : 'unknown error'}`),
    );
  };

  const sidebar = (
    <ThreadSidebar
      threads={threads}
      selected={key}
      listStatus={list.status}
      onRetryList={() => void list.refetch()}
      hasMore={list.hasNextPage}
      loadingMore={list.isFetchingNextPage}
      onLoadMore={() => void list.fetchNextPage()}
      streaming={streaming}
      creating={create.isPending}
      onCreate={createThread}
      onSelect={(thread) => open(threadKeyOf(thread))}
      onRename={renameThread}
      onDelete={(thread) => {
        remove.reset();
        setDeleting(thread);
      }}
      onExport={exportAs}
      onOpenResult={openResult}
      onReselect={() => setDrawerOpen(false)}
      newThreadRef={newThreadRef}
      closeButton={
        narrow ? (
          <button type="button" className="icon-button" aria-label="Close conversations" onClick={() => setDrawerOpen(false)}>
            <svg aria-hidden="true" viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor" strokeWidth="2">
              <path d="M6 6l12 12M18 6L6 18" strokeLinecap="round" />
            </svg>
          </button>
        ) : undefined
      }
    />
  );

  const threadsButton = narrow ? (
    <button
      ref={menuButtonRef}
      type="button"
      className="icon-button threads-button"
      aria-label="Conversations"
      aria-haspopup="dialog"
      aria-expanded={drawerOpen}
      aria-controls={DRAWER_ID}
      onClick={() => setDrawerOpen(true)}
    >
      <svg aria-hidden="true" viewBox="0 0 24 24" width="22" height="22" fill="none" stroke="currentColor" strokeWidth="2">
        <path d="M4 7h16M4 12h16M4 17h16" strokeLinecap="round" />
      </svg>
    </button>
  ) : undefined;

  return (
    <div className={narrow ? 'app-shell' : 'app-shell with-sidebar'}>
      <ModelBanner />
      {!narrow && sidebar}
      <ChatScreen
        key={storageKey(key)}
        threadKey={key}
        title={title}
        threadsButton={threadsButton}
        target={target && target.key === key ? target.messageId : null}
        onTargetHandled={onTargetHandled}
        onMissingThread={onMissingThread}
      />
      {narrow && (
        <Drawer id={DRAWER_ID} open={drawerOpen} onClose={() => setDrawerOpen(false)} label="Conversations">
          {sidebar}
        </Drawer>
      )}
      <ConfirmDialog
        open={deleting !== null}
        title="Delete conversation?"
        description={
          <>
            “{displayTitle(deleting ?? undefined)}” and all its messages will be deleted. This can’t be undone.
          </>
        }
        confirmLabel="Delete conversation"
        busyLabel="Deleting…"
        busy={remove.isPending}
        onConfirm={confirmDelete}
        onCancel={() => setDeleting(null)}
        fallbackFocusRef={narrow && !drawerOpen ? menuButtonRef : newThreadRef}
        error={
          remove.isError ? (
            <p className="field-error" role="alert">
              {describeError(remove.error).detail}
            </p>
          ) : undefined
        }
      />
    </div>
  );
}
