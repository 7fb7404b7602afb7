import { useEffect, useState, type RefObject } from 'react';

/**
 * Whether the element is narrower than its content, so it scrolls sideways. Measured after every render (a
 * streaming block grows) and whenever the element or its content is resized (a phone turned, the window
 * narrowed). A region that scrolls is given `tabIndex={0}` so the keyboard can scroll it; one that doesn't
 * would only be an extra Tab stop.
 */
export function useScrollsSideways(ref: RefObject<HTMLElement | null>): boolean {
  const [scrolls, setScrolls] = useState(false);

  useEffect(() => {
    const element = ref.current;
    if (element) setScrolls(element.scrollWidth > element.clientWidth);
  });

  useEffect(() => {
    const element = ref.current;
    if (!element || typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(() => setScrolls(element.scrollWidth > element.clientWidth));
    observer.observe(element);
    if (element.firstElementChild) observer.observe(element.firstElementChild);
    return () => observer.disconnect();
  }, [ref]);

  return scrolls;
}
