import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, test } from 'vitest';
import type { HistoryMessage } from '../api-types';
import { ChatMessage } from './chat-message';

const reply: HistoryMessage = {
  id: 2,
  role: 'assistant',
  content: 'First, unplug the',
  timestamp: '2025-12-15T10:00:00.000Z',
  sources: [],
  stopped: false,
  interrupted: true,
};

const askAgain = { question: 'Why does my kettle trip the fuse?', busy: false, onAsk: () => {} };

// No DOM here: what a reply renders is checked as HTML; clicking Ask again is covered by the e2e suite.
const render = renderToStaticMarkup;

describe('an interrupted reply', () => {
  test('says so, and offers to ask again, the button described by the note', () => {
    const html = render(<ChatMessage message={reply} askAgain={askAgain} />);
    expect(html).toContain('Interrupted — the server restarted while answering.');
    const note = /<p id="([^"]+)">/.exec(html)?.[1];
    expect(note).toBeTruthy();
    expect(html).toContain(
      `<button type="button" class="button" aria-describedby="${note}">Ask again</button>`,
    );
    // What had streamed is still shown.
    expect(html).toContain('First, unplug the');
  });

  test('waits while another reply streams', () => {
    const html = render(<ChatMessage message={reply} askAgain={{ ...askAgain, busy: true }} />);
    expect(html).toMatch(/<button[^>]* disabled=""[^>]*>Ask again/);
  });

  test('is marked without the button when its question is not loaded', () => {
    const html = render(<ChatMessage message={reply} />);
    expect(html).toContain('Interrupted');
    expect(html).not.toContain('Ask again');
  });

  test('a finished reply carries no mark', () => {
    const html = render(<ChatMessage message={{ ...reply, interrupted: false }} askAgain={askAgain} />);
    expect(html).not.toContain('Interrupted');
    expect(html).not.toContain('Ask again');
  });
});
