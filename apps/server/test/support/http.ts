import type { TurnEvent } from '@fixthread/core';
import { parseSse } from '@fixthread/testing';

export interface JsonResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

export interface RequestInit {
  method?: string;
  token?: string;
  json?: unknown;
  body?: string;
  headers?: Record<string, string>;
}

/** fetch as a browser client calls the REST API, with the JSON body parsed. */
export async function request<T>(url: string, init: RequestInit = {}): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  let body = init.body;
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(url, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : undefined) as T };
}

export type StreamEvent = TurnEvent | { type: 'error'; content: string; code: string };

export interface StreamResult {
  status: number;
  contentType: string | null;
  /** The body exactly as sent. */
  raw: string;
  events: StreamEvent[];
}

export async function streamChat(baseUrl: string, token: string, message: string): Promise<StreamResult> {
  const response = await fetch(`${baseUrl}/chat/stream`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ message }),
  });
  const raw = await response.text();
  const contentType = response.headers.get('content-type');
  const events: StreamEvent[] = [];
  if (contentType?.startsWith('text/event-stream')) {
    for await (const data of parseSse(textSource(raw))) events.push(JSON.parse(data) as StreamEvent);
  }
  return { status: response.status, contentType, raw, events };
}

async function* textSource(text: string): AsyncGenerator<string> {
  yield text;
}

export interface ErrorResponseBody {
  error: { code: string; message: string; details?: { field: string } };
}

/** Reads a streaming response piece by piece, so a test can act between the first bytes and the rest. */
export class BodyReader {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();

  constructor(response: Response) {
    if (!response.body) throw new Error('response has no body');
    this.reader = response.body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  }

  async next(): Promise<string> {
    const { value } = await this.reader.read();
    return value ? this.decoder.decode(value, { stream: true }) : '';
  }

  async rest(): Promise<string> {
    let text = '';
    for (let chunk = await this.reader.read(); !chunk.done; chunk = await this.reader.read()) {
      text += this.decoder.decode(chunk.value, { stream: true });
    }
    return text + this.decoder.decode();
  }
}
