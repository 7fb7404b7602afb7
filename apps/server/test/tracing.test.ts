import { createServer, type IncomingHttpHeaders } from 'node:http';
import { countTokens, type TurnEvent } from '@fixthread/core';
import { testDrivers } from '@fixthread/core/testing';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FAKE_REPLY, startHarness, type Harness } from './support/harness';
import { streamChat, type StreamEvent } from './support/http';
import { connect, streamViaTrpc } from './support/trpc';

const MODEL_SPAN = 'chat gpt-4o-mini';
const TOOL_SPAN = 'execute_tool search_ifixit_guides';

function doneOf(events: (TurnEvent | StreamEvent)[]) {
  const done = events.at(-1);
  if (done?.type !== 'done') throw new Error(`the turn did not end with done: ${JSON.stringify(done)}`);
  return done;
}

const idOf = (span: ReadableSpan) => span.spanContext().spanId;
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
/** In milliseconds: the SDK takes a span's start from Date.now(), so times across spans agree to about 1 ms. */
const startOf = (span: ReadableSpan) => span.startTime[0] * 1e3 + span.startTime[1] / 1e6;
const endOf = (span: ReadableSpan) => span.endTime[0] * 1e3 + span.endTime[1] / 1e6;
const CLOCK_MS = 1;

describe.each(testDrivers())('traces on $name', (driver) => {
  const exporter = new InMemorySpanExporter();
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(driver, { spanProcessor: new SimpleSpanProcessor(exporter) });
  });
  afterAll(() => h.close());
  beforeEach(() => exporter.reset());

  /** The spans of the trace the turn belongs to, once the turn and (if any) its request have ended. */
  async function traceOfTurn(turnId: string, { withRequest }: { withRequest: boolean }): Promise<ReadableSpan[]> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const spans = exporter.getFinishedSpans();
      const turn = spans.find((span) => span.name === 'turn' && span.attributes['fixthread.turn.id'] === turnId);
      const inTrace = turn ? spans.filter((span) => span.spanContext().traceId === turn.spanContext().traceId) : [];
      const requestEnded = inTrace.some((span) => span.kind === SpanKind.SERVER);
      if (turn && (requestEnded || !withRequest)) return inTrace;
      if (Date.now() > deadline) throw new Error(`no finished trace for turn ${turnId}: ${spans.map((s) => s.name).join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  const one = (spans: ReadableSpan[], name: string) => {
    const found = spans.filter((span) => span.name === name);
    expect(found.map((span) => span.name)).toEqual([name]);
    return found[0]!;
  };

  it('one REST turn is the tree request → turn → model calls, tool call and database work, and no span per token', async () => {
    const reply = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
    h.openai.enqueue(
      {
        toolCalls: [{ name: 'search_ifixit_guides', arguments: JSON.stringify({ query: 'iPhone screen' }) }],
        usage: { prompt_tokens: 120, completion_tokens: 15 },
      },
      // Spaced out so the reply is written as many separate batches of events.
      { text: reply, usage: { prompt_tokens: 210, completion_tokens: 40 }, delayMsBetweenChunks: 5 },
    );
    // A caller already in a trace: the request joins it (W3C traceparent).
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpanId = '00f067aa0ba902b7';
    const response = await fetch(`${h.url}/chat/stream`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await h.token('t-rest')}`,
        'content-type': 'application/json',
        traceparent: `00-${traceId}-${callerSpanId}-01`,
      },
      body: JSON.stringify({ message: 'My iPhone screen cracked' }),
    });
    const body = await response.text();
    const done = JSON.parse(body.trim().split('\n').at(-1)!.slice('data: '.length)) as StreamEvent;
    if (done.type !== 'done') throw new Error(`no done: ${body}`);

    const spans = await traceOfTurn(done.turn_id, { withRequest: true });
    // Exactly these, however many tokens streamed: the event writes are not spans.
    expect(spans.map((span) => span.name).sort()).toEqual(
      [
        'POST /chat/stream',
        'db start_turn',
        'turn',
        'db load_context',
        MODEL_SPAN,
        TOOL_SPAN,
        'db charge_model_call',
        MODEL_SPAN,
        'db finish_turn',
      ].sort(),
    );

    const request = one(spans, 'POST /chat/stream');
    expect(request.spanContext().traceId).toBe(traceId);
    expect(parentOf(request)).toBe(callerSpanId);
    expect(request.kind).toBe(SpanKind.SERVER);
    expect(request.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/chat/stream',
      'url.path': '/chat/stream',
      'http.response.status_code': 200,
    });
    expect(parentOf(one(spans, 'db start_turn'))).toBe(idOf(request));

    const turn = one(spans, 'turn');
    expect(parentOf(turn)).toBe(idOf(request));
    expect(turn.attributes).toEqual({
      'fixthread.thread.id': 'user-t-rest',
      'fixthread.turn.id': done.turn_id,
      'fixthread.turn.mode': 'ask',
      'fixthread.turn.outcome': 'completed',
      'fixthread.turn.streamed_tokens': countTokens(reply),
      'fixthread.usage.total_tokens': 135 + 250,
      'fixthread.usage.estimated': false,
    });
    expect(turn.events.map((event) => event.name)).toEqual(['first token']);
    expect(turn.status.code).toBe(SpanStatusCode.UNSET);

    const [first, second] = spans.filter((span) => span.name === MODEL_SPAN).sort((a, b) => startOf(a) - startOf(b));
    for (const call of [first!, second!]) {
      expect(parentOf(call)).toBe(idOf(turn));
      expect(call.kind).toBe(SpanKind.CLIENT);
      expect(call.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o-mini', 'server.address': '127.0.0.1' });
    }
    expect(first!.attributes).toMatchObject({
      'fixthread.model_call.round': 0,
      'gen_ai.usage.input_tokens': 120,
      'gen_ai.usage.output_tokens': 15,
      'gen_ai.response.finish_reasons': ['tool_calls'],
      'fixthread.model_call.tool_calls': 1,
    });
    expect(second!.attributes).toMatchObject({
      'fixthread.model_call.round': 1,
      'gen_ai.usage.input_tokens': 210,
      'gen_ai.usage.output_tokens': 40,
      'gen_ai.response.finish_reasons': ['stop'],
    });

    const tool = one(spans, TOOL_SPAN);
    expect(parentOf(tool)).toBe(idOf(turn));
    expect(tool.attributes).toMatchObject({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'search_ifixit_guides', 'fixthread.tool.ok': true });
    expect(tool.attributes['fixthread.tool.sources']).toBeGreaterThan(0);
    // The tool ran between the model call that asked for it and the one that used its result.
    expect(startOf(tool)).toBeGreaterThanOrEqual(endOf(first!) - CLOCK_MS);
    expect(endOf(tool)).toBeLessThanOrEqual(startOf(second!) + CLOCK_MS);

    for (const name of ['db load_context', 'db charge_model_call', 'db finish_turn']) {
      const operation = one(spans, name);
      expect(parentOf(operation)).toBe(idOf(turn));
      expect(operation.kind).toBe(SpanKind.CLIENT);
      expect(operation.attributes).toEqual({ 'db.system.name': 'postgresql', 'db.operation.name': name.slice('db '.length) });
    }
  });

  it('a tRPC mutation is a request with its turn beneath it; a WebSocket subscription turn is a trace of its own', async () => {
    const client = connect(h.url, await h.token('t-trpc'));
    try {
      expect((await client.trpc.chat.send.mutate({ message: 'hi' })).response).toBe(FAKE_REPLY);
      const sent = exporter.getFinishedSpans().find((span) => span.name === 'turn');
      expect(sent).toBeDefined();
      const viaHttp = await traceOfTurn(String(sent!.attributes['fixthread.turn.id']), { withRequest: true });
      const request = viaHttp.find((span) => span.kind === SpanKind.SERVER)!;
      expect(request.name).toBe('POST /trpc/:path');
      expect(parentOf(one(viaHttp, 'turn'))).toBe(idOf(request));

      const { events } = await streamViaTrpc(client, 'and again');
      const subscribed = await traceOfTurn(doneOf(events).turn_id, { withRequest: false });
      const turn = one(subscribed, 'turn');
      expect(turn.parentSpanContext).toBeUndefined();
      expect(parentOf(one(subscribed, MODEL_SPAN))).toBe(idOf(turn));
      expect(subscribed.some((span) => span.kind === SpanKind.SERVER)).toBe(false);
    } finally {
      await client.close();
    }
  });

  it('a failed turn marks its span and its model call failed, with the error code', async () => {
    h.openai.enqueue({ error: { status: 503 } });
    const failed = await streamChat(h.url, await h.token('t-failed'), 'This one fails');
    expect(failed.events.at(-1)).toMatchObject({ type: 'error', code: 'UPSTREAM_UNAVAILABLE' });
    const deadline = Date.now() + 5_000;
    let turn: ReadableSpan | undefined;
    while (!(turn = exporter.getFinishedSpans().find((span) => span.name === 'turn')) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(turn?.attributes).toMatchObject({ 'fixthread.turn.outcome': 'failed', 'error.type': 'UPSTREAM_UNAVAILABLE' });
    expect(turn?.status.code).toBe(SpanStatusCode.ERROR);
    const call = exporter.getFinishedSpans().find((span) => span.name === MODEL_SPAN);
    expect(call?.status.code).toBe(SpanStatusCode.ERROR);
    expect(call?.events.map((event) => event.name)).toEqual(['exception']);
  });

  it('does not trace scrapes and health probes', async () => {
    expect((await fetch(`${h.url}/health`)).status).toBe(200);
    expect((await fetch(`${h.url}/chat/history`)).status).toBe(401);
    const deadline = Date.now() + 5_000;
    while (exporter.getFinishedSpans().length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(exporter.getFinishedSpans().map((span) => [span.name, span.attributes['http.response.status_code']])).toEqual([['GET /chat/history', 401]]);
  });
});

interface OtlpKeyValue {
  key: string;
  value: { stringValue?: string; intValue?: string | number };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: OtlpKeyValue[];
}
interface OtlpExport {
  resourceSpans: { resource: { attributes: OtlpKeyValue[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
}

describe('OTLP/HTTP export (OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  it('sends the spans to <endpoint>/v1/traces as OTLP JSON, flushed on stop, and uninstalls the SDK', async () => {
    const received: { method?: string; url?: string; headers: IncomingHttpHeaders; body: string }[] = [];
    const collector = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const { port } = collector.address() as { port: number };
    const h = await startHarness(testDrivers()[0]!, {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}/`, OTEL_SERVICE_NAME: 'fixthread-otlp-test' },
    });
    let turnId: string;
    try {
      h.openai.enqueue({ toolCalls: [{ name: 'search_ifixit_guides', arguments: JSON.stringify({ query: 'PS5 HDMI' }) }] }, { text: FAKE_REPLY });
      turnId = doneOf((await streamChat(h.url, await h.token('t-otlp'), 'My PS5 has no picture')).events).turn_id;
    } finally {
      // Spans are batched; stopping the server flushes them.
      await h.close();
      await new Promise((resolve) => collector.close(resolve));
    }
    expect(received.length).toBeGreaterThan(0);
    for (const post of received) {
      expect(post).toMatchObject({ method: 'POST', url: '/v1/traces' });
      expect(post.headers['content-type']).toMatch(/^application\/json/);
    }
    const exports = received.map((post) => JSON.parse(post.body) as OtlpExport);
    const resources = exports.flatMap((e) => e.resourceSpans);
    for (const { resource } of resources) {
      expect(resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue).toBe('fixthread-otlp-test');
    }
    const spans = resources.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
    const turn = spans.find((span) => span.name === 'turn' && span.attributes.some((a) => a.key === 'fixthread.turn.id' && a.value.stringValue === turnId));
    const request = spans.find((span) => span.name === 'POST /chat/stream');
    expect(turn?.parentSpanId).toBe(request?.spanId);
    const inTurn = spans.filter((span) => span.parentSpanId === turn?.spanId).map((span) => span.name);
    expect(inTurn).toEqual(expect.arrayContaining([MODEL_SPAN, TOOL_SPAN, 'db finish_turn']));
    // Stopped, the server leaves no SDK behind: spans made now record nothing.
    expect(trace.getTracer('probe').startSpan('after stop').isRecording()).toBe(false);
  });
});
