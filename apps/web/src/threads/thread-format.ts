export interface TitledThread {
  title: string | null;
  message_count: number;
}

/**
 * What a thread is called in the list. Untitled threads are new ones (named after their first answer, a
 * moment after it) or threads whose automatic title hasn't arrived yet.
 */
export function displayTitle(thread: TitledThread | undefined): string {
  if (thread?.title) return thread.title;
  return thread && thread.message_count > 0 ? 'Untitled conversation' : 'New conversation';
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * When a thread was last active, as a list shows it: "Just now", "5 min ago", "3 h ago", "Yesterday", then
 * a date (with the year when it isn't this year's).
 */
export function formatActivity(iso: string | null, now: Date = new Date(), locale?: string): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const elapsed = now.getTime() - date.getTime();
  if (elapsed < MINUTE) return 'Just now';
  if (elapsed < HOUR) return `${Math.floor(elapsed / MINUTE)} min ago`;
  const startOfToday = new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime();
  if (date.getTime() >= startOfToday) return `${Math.floor(elapsed / HOUR)} h ago`;
  if (date.getTime() >= startOfToday - DAY) return 'Yesterday';
  const sameYear = date.getFullYear() === now.getFullYear();
  return new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'short', ...(sameYear ? {} : { year: 'numeric' }) }).format(date);
}

/** A file name for an exported thread: its title, made safe for every file system. */
export function exportFileName(title: string | null, format: 'markdown' | 'json'): string {
  const base =
    (title ?? '')
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .replace(/[^A-Za-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .toLowerCase()
      .slice(0, 60) || 'conversation';
  return `fixthread-${base}.${format === 'markdown' ? 'md' : 'json'}`;
}

/** The file name a Content-Disposition header gives, if any (`filename*=` first, as RFC 6266 says). */
export function dispositionFileName(header: string | null): string | null {
  if (!header) return null;
  const extended = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  if (extended?.[1]) {
    try {
      return decodeURIComponent(extended[1].trim());
    } catch {
      // Fall back to the plain parameter.
    }
  }
  const plain = /filename\s*=\s*("([^"]*)"|[^;]+)/.exec(header);
  const name = plain?.[2] ?? plain?.[1]?.trim();
  return name ? name : null;
}
