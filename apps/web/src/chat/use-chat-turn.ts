import { skipToken, useMutation, useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { DoneEvent, History, HistoryMessage, StreamEnvelope } from '../api-types';
import { useAuth } from '../auth/auth-context';
import { useTRPC } from '../trpc';
import { newClientMessageId } from './client-message-id';
import { hasStoredQuestion, lastMessageId, withFinishedTurn, type ChatTurn } from './conversation';
import { describeError } from './describe-error';
import { frameBatcher } from './frame-batcher';
import { useHistoryOptions } from './use-history';

export interface ChatTurnControls {
  turn: ChatTurn | null;
  /** The stored answer of the last turn that finished here, until the next one starts: its end is still news. */
  answeredId: number | null;
  /** The socket dropped mid-reply; wsLink is reconnecting and will resume the same turn. */
  reconnecting: boolean;
  /** Asks a new question (under a new clientMessageId). Stable, so stored messages can hold it without re-rendering. */
  send: (message: string) => void;
  stop: () => void;
  retry: () => Promise<void>;
  dismiss: () => void;
}

/** Runs one question → streamed answer at a time over `chat.stream`, and hands the result to the history cache. */
export function useChatTurn(history: History | undefined): ChatTurnControls {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const historyOptions = useHistoryOptions();
  const { signOut } = useAuth();
  const [turn, setTurnState] = useState<ChatTurn | null>(null);
  const [answeredId, setAnsweredId] = useState<number | null>(null);
  // The turn as last set, readable synchronously when the next event (or `done`) arrives, which can be before
  // React has rendered the previous update. Its `text` lags behind while tokens wait for the next frame:
  // textRef has every token received so far.
  const turnRef = useRef<ChatTurn | null>(null);
  const textRef = useRef('');
  // The first event means the question is stored, so the stats panel can count it without waiting for the answer.
  const questionCountedRef = useRef(false);
  // For `send`, which must stay the same function from render to render (see ChatTurnControls).
  const historyRef = useRef(history);
  useEffect(() => {
    historyRef.current = history;
  }, [history]);

  const setTurn = useCallback((next: ChatTurn | null | ((current: ChatTurn | null) => ChatTurn | null)) => {
    turnRef.current = typeof next === 'function' ? next(turnRef.current) : next;
    setTurnState(turnRef.current);
  }, []);

  // A long reply arrives as thousands of tokens, and each render re-parses all of its Markdown so far: tokens
  // only collect in textRef, and reach React at most once per animation frame.
  const [tokenFlush] = useState(() =>
    frameBatcher(() => {
      const text = textRef.current;
      setTurn((t) => t && { ...t, text, status: null });
    }),
  );
  useEffect(() => () => tokenFlush.cancel(), [tokenFlush]);

  const refreshAfterTurn = useCallback(() => {
    void queryClient.invalidateQueries({ queryKey: trpc.chat.history.queryKey() });
    void queryClient.invalidateQueries({ queryKey: trpc.chat.sessions.queryKey() });
  }, [queryClient, trpc]);

  const finish = (done: DoneEvent) => {
    const current = turnRef.current;
    if (!current) return;
    const answer: HistoryMessage = {
      id: done.message_id,
      role: 'assistant',
      content: textRef.current,
      timestamp: new Date().toISOString(),
      sources: done.sources,
      stopped: done.stopped,
      interrupted: done.interrupted,
    };
    queryClient.setQueryData(
      historyOptions.queryKey,
      (cached) => cached && withFinishedTurn(cached, current, done.user_message_id, answer),
    );
    setAnsweredId(answer.id);
    setTurn(null);
    refreshAfterTurn();
  };

  const onData = ({ data: event }: StreamEnvelope) => {
    if (!questionCountedRef.current) {
      questionCountedRef.current = true;
      void queryClient.invalidateQueries({ queryKey: trpc.chat.sessions.queryKey() });
    }
    if (event.type === 'token') {
      textRef.current += event.content;
      return tokenFlush.schedule();
    }
    // Whatever follows tokens applies after them, so they are shown first: none lost, none shown twice.
    tokenFlush.flushNow();
    if (event.type === 'done') return finish(event);
    setTurn((t) => t && { ...t, status: event.content });
  };

  const onError = (error: unknown) => {
    tokenFlush.flushNow();
    const described = describeError(error);
    if (described.kind === 'unauthorized') return signOut(described.detail);
    setTurn((t) => t && { ...t, phase: 'failed', status: null, error: described });
    refreshAfterTurn();
  };

  const streaming = turn?.phase === 'streaming';
  const subscription = useSubscription(
    trpc.chat.stream.subscriptionOptions(
      streaming ? { message: turn.message, clientMessageId: turn.clientMessageId } : skipToken,
      { onData, onError },
    ),
  );
  const stopMutation = useMutation(trpc.chat.stop.mutationOptions());

  const start = useCallback(
    (message: string, afterId: number, clientMessageId: string) => {
      tokenFlush.cancel();
      textRef.current = '';
      setAnsweredId(null);
      questionCountedRef.current = false;
      setTurn({ message, clientMessageId, afterId, text: '', status: null, phase: 'streaming', error: null });
    },
    [tokenFlush, setTurn],
  );

  const send = useCallback(
    (message: string) => {
      if (turnRef.current?.phase === 'streaming') return;
      start(message, lastMessageId(historyRef.current), newClientMessageId());
    },
    [start],
  );

  const reconnecting = streaming && subscription.status === 'connecting' && subscription.error !== null;

  const stop = () => {
    stopMutation.mutate();
    // Nothing will arrive over a dead socket: give up on the live reply; the saved one shows after a refetch.
    if (reconnecting) onError(subscription.error);
  };

  const retry = async () => {
    const failed = turnRef.current;
    if (!failed || failed.phase !== 'failed') return;
    let fresh: History;
    try {
      fresh = await queryClient.fetchQuery({ ...historyOptions, staleTime: 0 });
    } catch (error) {
      return setTurn((t) => t && { ...t, error: describeError(error) });
    }
    // Once the server has stored the question and answered with an error, that error is final for the key (it
    // would answer the same key with it again), so asking again takes a new one; the stored question stays.
    if (failed.error?.kind !== 'connection' && hasStoredQuestion(fresh, failed)) {
      return start(failed.message, lastMessageId(fresh), newClientMessageId());
    }
    // Otherwise the same key: the server answers with the turn it already has (a lost connection doesn't mean a
    // lost turn: its reply is replayed), or starts it if it never did. Either way the question is stored once.
    start(failed.message, failed.afterId, failed.clientMessageId);
  };

  const dismiss = () => {
    tokenFlush.cancel();
    setAnsweredId(null);
    setTurn(null);
  };

  return { turn, answeredId, reconnecting, send, stop, retry, dismiss };
}
