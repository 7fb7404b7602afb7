import type { ThreadSummary } from '../api-types';
import { dispositionFileName, exportFileName } from './thread-format';

/**
 * Downloads a thread as Markdown or JSON from the REST export (`GET /chat/export`), which a plain link can't
 * do: it needs the bearer token. Resolves with the file name it was saved under.
 */
export async function exportThread(token: string, thread: ThreadSummary, format: 'markdown' | 'json'): Promise<string> {
  const params = new URLSearchParams({ thread_id: thread.id, format });
  const response = await fetch(`/chat/export?${params.toString()}`, { headers: { Authorization: `Bearer ${token}` } });
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
    throw new Error(body?.error?.message ?? `the server answered ${response.status}`);
  }
  const blob = await response.blob();
  const name = dispositionFileName(response.headers.get('content-disposition')) ?? exportFileName(thread.title, format);
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // After the click has started the download.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return name;
}
