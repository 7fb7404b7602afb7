import { useRef, type ReactNode } from 'react';
import { useScrollsSideways } from './use-scrolls-sideways';
import './table-scroll.css';

/**
 * A table wider than the answer scrolls sideways in here instead of squeezing its columns until words break
 * mid-word. A named region, so a screen reader can find it; focusable while it scrolls, so the arrow keys
 * can scroll it.
 */
export function TableScroll({ label, children }: { label: string; children: ReactNode }) {
  const ref = useRef<HTMLDivElement>(null);
  const scrolls = useScrollsSideways(ref);
  return (
    <div
      ref={ref}
      className="table-scroll"
      role="region"
      aria-label={label}
      tabIndex={scrolls ? 0 : undefined}
    >
      {children}
    </div>
  );
}
