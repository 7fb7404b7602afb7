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
  attachments: [],
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

describe('message actions', () => {
  const handlers = { regenerate: () => {}, startEdit: () => {}, cancelEdit: () => {}, saveEdit: () => {} };
  const options = { handlers, lastAnswer: false, lastQuestion: false, busy: false, editing: false, highlighted: false };
  const question: HistoryMessage = { ...reply, id: 1, role: 'user', content: 'Why does it trip?', interrupted: false };
  const answer: HistoryMessage = { ...reply, interrupted: false, content: 'Check the **element**.' };

  test('a stored message can be found by its id and copied', () => {
    const html = render(<ChatMessage message={answer} options={options} />);
    expect(html).toContain('id="message-2"');
    expect(html).toContain('>Copy</span>');
    expect(html).not.toContain('Regenerate');
    expect(html).not.toContain('tabindex');
  });

  test('only the last answer offers Regenerate, disabled while a reply streams', () => {
    expect(render(<ChatMessage message={answer} options={{ ...options, lastAnswer: true }} />)).toMatch(
      /<button type="button" class="message-action">.*Regenerate<\/span><\/button>/,
    );
    expect(render(<ChatMessage message={answer} options={{ ...options, lastAnswer: true, busy: true }} />)).toMatch(
      /<button type="button" class="message-action" disabled="">.*Regenerate/,
    );
  });

  test('only the last question offers Edit; editing shows the editor in its place', () => {
    expect(render(<ChatMessage message={question} options={options} />)).not.toContain('Edit');
    expect(render(<ChatMessage message={question} options={{ ...options, lastQuestion: true }} />)).toContain('>Edit</span>');
    const editing = render(<ChatMessage message={question} options={{ ...options, lastQuestion: true, editing: true }} />);
    expect(editing).toContain('Edit your question');
    expect(editing).toContain('>Why does it trip?</textarea>');
    expect(editing).toContain('Save &amp; send');
    expect(editing).not.toContain('class="bubble"');
  });

  test('a message opened from a search result is highlighted and can take the focus', () => {
    const html = render(<ChatMessage message={question} options={{ ...options, highlighted: true }} />);
    expect(html).toContain('class="message message-user message-highlighted"');
    expect(html).toContain('tabindex="-1"');
  });
});
