/** The AI SDK peer (ai-sdk-server.ts) in a child process, and its client: the UI message stream read to the end. */
import { parseSse } from '@fixthread/testing';
import { forkEntry } from './baseline-child';
import type { PeerReply, PeerRequest } from './ai-sdk-server';
import { sanity } from './stats';

export interface PeerServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startPeerServer(start: Omit<Extract<PeerRequest, { type: 'start' }>, 'type'>): Promise<PeerServer> {
  const child = forkEntry('./ai-sdk-server.ts');
  try {
    const reply = await child.request<PeerReply>({ type: 'start', ...start });
    if (reply.type !== 'ready') throw new Error('peer did not start');
    return { url: reply.url, pid: child.pid, stop: () => child.stop() };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

/** One peer turn: the text its `text-delta` parts carried. */
export async function peerTurn(url: string, user: string, message: string): Promise<string> {
  const response = await fetch(`${url}/chat/stream`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user, message }),
  });
  sanity(response.ok && response.body, `peer answered ${response.status}`);
  let text = '';
  for await (const data of parseSse(response.body)) {
    if (data === '[DONE]') continue;
    const part = JSON.parse(data) as { type: string; delta?: string };
    if (part.type === 'text-delta') text += part.delta ?? '';
  }
  return text;
}
