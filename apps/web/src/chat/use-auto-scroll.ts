import { useCallback, useLayoutEffect, useRef, useState } from 'react';

/** Within this many pixels of the bottom still counts as "reading the latest". */
const PINNED_SLACK_PX = 48;

/**
 * Keeps a scroll container at the bottom while new content arrives, unless the user has scrolled up to read:
 * then it stays put and offers a way back.
 */
export function useAutoScroll<T extends HTMLElement>(contentSignature: unknown, repinOn: unknown) {
  const ref = useRef<T>(null);
  const pinned = useRef(true);
  const [hasUnseen, setHasUnseen] = useState(false);

  // Instant on purpose: the scroll events of a smooth scroll would read as the user scrolling away mid-way.
  const scrollToBottom = useCallback(() => {
    const element = ref.current;
    if (!element) return;
    pinned.current = true;
    setHasUnseen(false);
    element.scrollTop = element.scrollHeight;
  }, []);

  const onScroll = useCallback(() => {
    const element = ref.current;
    if (!element) return;
    pinned.current = element.scrollHeight - element.scrollTop - element.clientHeight <= PINNED_SLACK_PX;
    if (pinned.current) setHasUnseen(false);
  }, []);

  // Sending a message means the user wants to see its answer, wherever they had scrolled to.
  useLayoutEffect(() => {
    if (repinOn) pinned.current = true;
  }, [repinOn]);

  useLayoutEffect(() => {
    const element = ref.current;
    if (!element) return;
    if (pinned.current) element.scrollTop = element.scrollHeight;
    else setHasUnseen(true);
  }, [contentSignature]);

  return { ref, onScroll, hasUnseen, scrollToBottom };
}
