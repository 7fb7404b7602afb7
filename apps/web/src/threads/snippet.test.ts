import { describe, expect, test } from 'vitest';
import { readableSnippet } from './snippet';

describe('readableSnippet', () => {
  test('drops Markdown markup and line breaks, keeping the marks on their words', () => {
    expect(
      readableSnippet([
        { text: "Here's how I'd approach **", match: false },
        { text: 'Toaster', match: true },
        { text: ' only heats one side**:\n\n1. Power the device off', match: false },
      ]),
    ).toEqual([
      { text: "Here's how I'd approach ", match: false },
      { text: 'Toaster', match: true },
      { text: ' only heats one side: Power the device off', match: false },
    ]);
  });

  test('leaves plain text alone and removes parts left empty', () => {
    expect(readableSnippet([{ text: '**', match: false }, { text: 'fuse', match: true }, { text: ' `J3100` pins', match: false }])).toEqual([
      { text: 'fuse', match: true },
      { text: ' J3100 pins', match: false },
    ]);
  });
});
