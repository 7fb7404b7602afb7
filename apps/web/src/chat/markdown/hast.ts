/** The part of a hast node (what react-markdown hands a component as `node`) read here. */
export interface HastNode {
  type: string;
  tagName?: string;
  value?: string;
  children?: readonly HastNode[];
}

/** The text of a node and everything in it, as it reads on screen (and as a copy should get it). */
export function hastText(node: HastNode | undefined): string {
  if (!node) return '';
  if (node.type === 'text') return node.value ?? '';
  return node.children?.map(hastText).join('') ?? '';
}

function childElements(node: HastNode | undefined, tagName: string): HastNode[] {
  return node?.children?.filter((child) => child.type === 'element' && child.tagName === tagName) ?? [];
}

/** The header cells' text of a GFM table (`table > thead > tr > th`). */
export function tableHeaders(table: HastNode | undefined): string[] {
  const headerRow = childElements(childElements(table, 'thead')[0], 'tr')[0];
  return childElements(headerRow, 'th').map((cell) => hastText(cell).trim());
}

/** A name for a table's scrolling region, from its columns: "Table: Part, Price". */
export function tableLabel(headers: readonly string[], shown = 4): string {
  const named = headers.filter((header) => header !== '');
  if (named.length === 0) return 'Table';
  const listed = named.slice(0, shown).join(', ');
  return `Table: ${listed}${named.length > shown ? ', …' : ''}`;
}
