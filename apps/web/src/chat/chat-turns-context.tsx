import { useQueryClient } from '@tanstack/react-query';
import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import { useAuth } from '../auth/auth-context';
import { threadInput, type ThreadKey } from '../threads/thread-key';
import { TitleWatch } from '../threads/title-watch';
import { useTRPC, useTRPCClient } from '../trpc';
import { ChatTurns, type TurnHandlers, type TurnRequest } from './chat-turns';
import { withFinishedTurn } from './conversation';
import { historyInput } from './use-history';

interface ChatTurnsValue {
  turns: ChatTurns;
  titles: TitleWatch;
}

const ChatTurnsContext = createContext<ChatTurnsValue | null>(null);

/**
 * The signed-in user's turns, on every thread, above the thread being shown: a reply keeps streaming into its
 * own thread while another is on screen. Inside <ApiProvider>, so signing out (or a new token) ends them all.
 */
export function ChatTurnsProvider({ children }: { children: ReactNode }) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const { signOut } = useAuth();

  const [value] = useState<ChatTurnsValue>(() => {
    const titles = new TitleWatch();
    const historyKey = (key: ThreadKey) => trpc.chat.history.queryKey(historyInput(key));
    const refresh = (key: ThreadKey) => {
      void queryClient.invalidateQueries({ queryKey: historyKey(key), exact: true });
      void queryClient.invalidateQueries({ queryKey: trpc.chat.sessions.queryKey() });
      void queryClient.invalidateQueries({ queryKey: trpc.threads.list.pathKey() });
    };
    const open = ({ kind, threadKey, message, clientMessageId, attachments }: TurnRequest, handlers: TurnHandlers) => {
      const thread = threadInput(threadKey);
      const photos = attachments?.length ? { attachments: [...attachments] } : {};
      const subscription =
        kind === 'ask'
          ? client.chat.stream.subscribe({ ...thread, message, clientMessageId, ...photos }, handlers)
          : kind === 'edit'
            ? client.chat.edit.subscribe({ ...thread, message, clientMessageId }, handlers)
            : client.chat.regenerate.subscribe({ ...thread, clientMessageId }, handlers);
      return () => subscription.unsubscribe();
    };
    const turns = new ChatTurns({
      open,
      stop: (key) => {
        // Without a thread, stop would end the user's turns on every thread: name the default one by its id.
        const threadId = key ?? queryClient.getQueryData(historyKey(key))?.thread_id;
        if (threadId) void client.chat.stop.mutate({ threadId }).catch(() => undefined);
      },
      history: (key) => queryClient.getQueryData(historyKey(key)),
      freshHistory: (key) => queryClient.fetchQuery({ ...trpc.chat.history.queryOptions(historyInput(key)), staleTime: 0 }),
      started: () => {
        void queryClient.invalidateQueries({ queryKey: trpc.chat.sessions.queryKey() });
        void queryClient.invalidateQueries({ queryKey: trpc.threads.list.pathKey() });
      },
      finished: (key, turn, questionId, answer) => {
        queryClient.setQueryData(historyKey(key), (cached) => cached && withFinishedTurn(cached, turn, questionId, answer));
        titles.watch(key);
        refresh(key);
      },
      failed: refresh,
      unauthorized: (detail) => signOut(detail),
    });
    return { turns, titles };
  });

  // StrictMode runs this twice on mount; closing streams that don't exist yet is harmless.
  useEffect(() => () => value.turns.closeAll(), [value]);

  return <ChatTurnsContext value={value}>{children}</ChatTurnsContext>;
}

export function useChatTurns(): ChatTurnsValue {
  const value = useContext(ChatTurnsContext);
  if (!value) throw new Error('useChatTurns must be used inside <ChatTurnsProvider>');
  return value;
}
