import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRef, useState } from 'react';
import { useAuth } from '../auth/auth-context';
import { ConnectionBanner } from '../connection/connection-banner';
import { useConnectionLost } from '../connection/use-connection-lost';
import { SessionStats } from '../stats/session-stats';
import { useTRPC } from '../trpc';
import { ChatHeader } from './chat-header';
import { ClearHistoryDialog } from './clear-history-dialog';
import { Composer } from './composer';
import { visibleConversation } from './conversation';
import { describeError } from './describe-error';
import { MessageList } from './message-list';
import { TurnError } from './turn-error';
import { useChatTurn } from './use-chat-turn';
import { useHistory, useHistoryOptions } from './use-history';

const STATS_ID = 'session-stats';

export function ChatScreen() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { signOut } = useAuth();
  const history = useHistory();
  const historyOptions = useHistoryOptions();
  const chat = useChatTurn(history.data);
  const connectionLost = useConnectionLost();
  const [confirmingClear, setConfirmingClear] = useState(false);
  const [statsOpen, setStatsOpen] = useState(false);
  const composerRef = useRef<HTMLTextAreaElement>(null);

  const streaming = chat.turn?.phase === 'streaming';
  const conversation = visibleConversation(history.data, chat.turn);

  const refreshAll = () => void queryClient.invalidateQueries({ queryKey: trpc.chat.pathKey() });

  const clear = useMutation(
    trpc.chat.clear.mutationOptions({
      onSuccess: () => {
        chat.dismiss();
        queryClient.setQueryData(historyOptions.queryKey, (cached) => cached && { ...cached, message_count: 0, messages: [] });
        void queryClient.invalidateQueries({ queryKey: trpc.chat.sessions.queryKey() });
        setConfirmingClear(false);
      },
    }),
  );

  return (
    <div className="app-shell">
      <ChatHeader
        statsId={STATS_ID}
        statsOpen={statsOpen}
        canClear={!streaming && conversation.messages.length > 0}
        onToggleStats={() => setStatsOpen(!statsOpen)}
        onClear={() => setConfirmingClear(true)}
        onSignOut={() => signOut()}
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
              onPickSuggestion={chat.send}
              onAskAgain={chat.send}
              onRetry={() => void chat.retry()}
              onDismiss={chat.dismiss}
            />
          )}
          <div className="composer-dock">
            {connectionLost && <ConnectionBanner onRetry={refreshAll} />}
            {clear.isError && (
              <TurnError error={describeError(clear.error)} onRetry={() => clear.mutate()} onDismiss={() => clear.reset()} />
            )}
            <Composer
              textareaRef={composerRef}
              streaming={streaming}
              disabled={!history.data}
              onSend={chat.send}
              onStop={chat.stop}
            />
          </div>
        </main>
        <SessionStats id={STATS_ID} />
      </div>
      <ClearHistoryDialog
        open={confirmingClear}
        clearing={clear.isPending}
        onConfirm={() => clear.mutate()}
        onCancel={() => setConfirmingClear(false)}
        fallbackFocusRef={composerRef}
      />
    </div>
  );
}
