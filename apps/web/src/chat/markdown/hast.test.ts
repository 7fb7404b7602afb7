import { describe, expect, test } from 'vitest';
import { hastText, tableHeaders, tableLabel, type HastNode } from './hast';

const text = (value: string): HastNode => ({ type: 'text', value });
const element = (tagName: string, children: HastNode[]): HastNode => ({ type: 'element', tagName, children });

const table = element('table', [
  text('\n'),
  element('thead', [
    element('tr', [
      element('th', [text(' Repair ')]),
      element('th', [element('strong', [text('Difficulty')])]),
      element('th', []),
    ]),
  ]),
  element('tbody', [element('tr', [element('td', [text('Battery')])])]),
]);

describe('hastText', () => {
  test('joins the text of a node and everything in it', () => {
    expect(hastText(element('p', [text('Use '), element('code', [text('sfc')]), text(' first')]))).toBe(
      'Use sfc first',
    );
    expect(hastText(undefined)).toBe('');
  });
});

describe('tableHeaders and tableLabel', () => {
  test('name a table by its header cells', () => {
    expect(tableHeaders(table)).toEqual(['Repair', 'Difficulty', '']);
    expect(tableLabel(tableHeaders(table))).toBe('Table: Repair, Difficulty');
  });

  test('a table without named columns is just a table', () => {
    expect(tableHeaders(element('table', []))).toEqual([]);
    expect(tableLabel([])).toBe('Table');
    expect(tableLabel(['', ' '.trim()])).toBe('Table');
  });

  test('many columns: the first few, and a sign there are more', () => {
    expect(tableLabel(['A', 'B', 'C', 'D', 'E', 'F'])).toBe('Table: A, B, C, D, …');
    expect(tableLabel(['A', 'B', 'C', 'D'])).toBe('Table: A, B, C, D');
  });
});
