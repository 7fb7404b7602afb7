import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { useAuth } from '../auth/auth-context';
import { ConnectionBanner } from '../connection/connection-banner';
import { useConnectionLost } from '../connection/use-connection-lost';
import { SessionStats } from '../stats/session-stats';
import { threadInput, type ThreadKey } from '../threads/thread-key';
import { forgetSelectedThread } from '../threads/use-selected-thread';
import { useTRPC } from '../trpc';
import { ChatHeader } from './chat-header';
import { ClearHistoryDialog } from './clear-history-dialog';
import { Composer } from './composer';
import { useSentMessage } from './composer-draft';
import { visibleConversation } from './conversation';
import { describeError, isNotFound } from './describe-error';
import { MessageList } from './message-list';
import { TurnError } from './turn-error';
import { useChatTurn } from './use-chat-turn';
import { olderPagesKey, useHistory, useHistoryOptions } from './use-history';

const STATS_ID = 'session-stats';

interface ChatScreenProps {
  /** The thread shown; the screen is keyed by it, so nothing of one thread's view carries over to another. */
  threadKey: ThreadKey;
  title: string;
  /** Opens the thread list where it is a drawer (see ChatHeader). */
  threadsButton?: ReactNode;
  /** A message to scroll to and highlight (a search result), until it is handled. */
  target: number | null;
  onTargetHandled: (found: boolean) => void;
  /** The thread doesn't exist (deleted elsewhere, another user's link). */
  onMissingThread: () => void;
}

export function ChatScreen({ threadKey, title, threadsButton, target, onTargetHandled, onMissingThread }: ChatScreenProps) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { signOut } = useAuth();
  const history = useHistory(threadKey);
  const historyOptions = useHistoryOptions(threadKey);
  const chat = useChatTurn(threadKey);
  const connectionLost = useConnectionLost();
  const [confirmingClear, setConfirmingClear] = useState(false);
  const [statsOpen, setStatsOpen] = useState(false);
  const composerRef = useRef<HTMLTextAreaElement>(null);

  const streaming = chat.turn?.phase === 'streaming';
  const conversation = visibleConversation(history.data, chat.turn);
  const sent = useSentMessage(chat.turn, conversation.pendingQuestion !== null, historyOptions.queryKey);
  const missing = threadKey !== null && history.isError && isNotFound(history.error);

  useEffect(() => {
    if (missing) onMissingThread();
  }, [missing, onMissingThread]);

  const refreshAll = () => {
    void queryClient.invalidateQueries({ queryKey: trpc.chat.pathKey() });
    void queryClient.invalidateQueries({ queryKey: trpc.threads.pathKey() });
  };

  const clear = useMutation(
    trpc.chat.clear.mutationOptions({
      onSuccess: () => {
        chat.dismiss();
        queryClient.setQueryData(
          historyOptions.queryKey,
          (cached) => cached && { ...cached, message_count: 0, messages: [], has_more: false, next_before: null },
        );
        void queryClient.resetQueries({ queryKey: olderPagesKey(threadKey) });
        void queryClient.invalidateQueries({ queryKey: trpc.chat.sessions.queryKey() });
        void queryClient.invalidateQueries({ queryKey: trpc.threads.list.pathKey() });
        setConfirmingClear(false);
      },
    }),
  );
  const clearThread = () => clear.mutate(threadInput(threadKey));

  return (
    <div className="chat-pane">
      <ChatHeader
        title={title}
        threadsButton={threadsButton}
        statsId={STATS_ID}
        statsOpen={statsOpen}
        canClear={!streaming && conversation.messages.length > 0}
        onToggleStats={() => setStatsOpen(!statsOpen)}
        onClear={() => setConfirmingClear(true)}
        onSignOut={() => {
          forgetSelectedThread();
          signOut();
        }}
      />
      <div className={statsOpen ? 'workspace stats-open' : 'workspace'}>
        <main className="conversation" aria-label="Conversation">
          {history.isError && !history.data ? (
            <div className="message-scroller">
              <div className="message-column">
                <TurnError error={describeError(history.error)} onRetry={() => void history.refetch()} />
              </div>
            </div>
          ) : (
            <MessageList
              conversation={conversation}
              turn={chat.turn}
              answeredId={chat.answeredId}
              loading={history.isPending}
              hasOlder={history.data?.has_more ?? false}
              loadingOlder={history.loadingOlder}
              olderFailed={history.olderError !== null}
              onLoadOlder={history.loadOlder}
              target={target}
              onTargetHandled={onTargetHandled}
              onRefresh={history.refetch}
              onPickSuggestion={chat.send}
              onAskAgain={chat.send}
              onRetry={() => void chat.retry()}
              onDismiss={chat.dismiss}
              onRegenerate={chat.regenerate}
              onEdit={chat.edit}
            />
          )}
          <div className="composer-dock">
            {connectionLost && <ConnectionBanner onRetry={refreshAll} />}
            {clear.isError && (
              <TurnError error={describeError(clear.error)} onRetry={clearThread} onDismiss={() => clear.reset()} />
            )}
            <Composer
              textareaRef={composerRef}
              streaming={streaming}
              disabled={!history.data}
              onSend={chat.send}
              onStop={chat.stop}
              sent={sent}
            />
          </div>
        </main>
        <SessionStats id={STATS_ID} threadKey={threadKey} />
      </div>
      <ClearHistoryDialog
        open={confirmingClear}
        clearing={clear.isPending}
        onConfirm={clearThread}
        onCancel={() => setConfirmingClear(false)}
        fallbackFocusRef={composerRef}
      />
    </div>
  );
}
