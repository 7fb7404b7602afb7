/** A turn event's durable id, `<turn id>:<seq>`: any process can resume after it. */
export function eventIdOf(turnId: string, seq: number): string {
  return `${turnId}:${seq}`;
}

export function parseEventId(id: string): { turnId: string; seq: number } | undefined {
  const match = /^([0-9a-f-]{36}):(\d{1,9})$/.exec(id);
  if (!match?.[1] || !match[2]) return undefined;
  return { turnId: match[1], seq: Number(match[2]) };
}
