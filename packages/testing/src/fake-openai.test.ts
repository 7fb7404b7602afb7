import OpenAI from 'openai';
import { type ChatCompletionChunk } from 'openai/resources/chat/completions';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from './fake-openai';
import { parseSse } from './sse';

const messages = [
  { role: 'system' as const, content: 'You are a repair assistant.' },
  { role: 'user' as const, content: 'My iPhone 12 screen is cracked.' },
];
const tools = [
  {
    type: 'function' as const,
    function: {
      name: 'search_guides',
      description: 'Search iFixit',
      parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
    },
  },
];

let fake: FakeOpenAI;
let client: OpenAI;

beforeEach(async () => {
  fake = await startFakeOpenAI();
  client = new OpenAI({ baseURL: fake.baseURL, apiKey: 'x', maxRetries: 0 });
});
afterEach(() => fake.close());

async function collect(stream: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const out: ChatCompletionChunk[] = [];
  for await (const c of stream) out.push(c);
  return out;
}

describe('streaming text', () => {
  it('streams several chunks, role first, and a usage chunk with empty choices', async () => {
    fake.enqueue({
      text: 'Hello there, let me look that up.',
      usage: { prompt_tokens: 12, completion_tokens: 8 },
    });
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = await collect(stream);

    const contentChunks = chunks.filter(
      (c) => typeof c.choices[0]?.delta.content === 'string' && c.choices[0].delta.content !== '',
    );
    expect(contentChunks.length).toBeGreaterThan(3);
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(
      'Hello there, let me look that up.',
    );
    const finish = chunks.find((c) => c.choices[0]?.finish_reason);
    expect(finish!.choices[0]!.finish_reason).toBe('stop');
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 8, total_tokens: 20 });
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks[0]!.object).toBe('chat.completion.chunk');
    expect(chunks[0]!.model).toBe('gpt-4o-mini');
  });

  it('records the request body and headers', async () => {
    fake.enqueue({ text: 'ok' });
    await collect(await client.chat.completions.create({ model: 'm1', messages, tools, stream: true }));
    expect(fake.requests).toHaveLength(1);
    const [request] = fake.requests;
    expect(request!.body.messages).toEqual(messages);
    expect(request!.body.tools?.[0]?.function.name).toBe('search_guides');
    expect(request!.body.stream).toBe(true);
    expect(request!.headers.authorization).toBe('Bearer x');
    expect(request!.reply).toEqual({ text: 'ok' });
  });

  it('honours chunkSize, omits usage without include_usage, and estimates usage otherwise', async () => {
    fake.enqueue({ text: 'abcdefghij', chunkSize: 3 }, { text: 'estimated please' });
    const a = await collect(await client.chat.completions.create({ model: 'm', messages, stream: true }));
    expect(a.map((c) => c.choices[0]?.delta.content).filter(Boolean)).toEqual(['abc', 'def', 'ghi', 'j']);
    expect(a.every((c) => !('usage' in c))).toBe(true);

    const b = await collect(
      await client.chat.completions.create({
        model: 'm',
        messages,
        stream: true,
        stream_options: { include_usage: true },
      }),
    );
    const usage = b.at(-1)!.usage!;
    expect(usage.prompt_tokens).toBeGreaterThan(0);
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
  });

  it("usage 'none' sends no usage; usageInEmptyChoicesChunk:false puts it on the finish chunk", async () => {
    fake.enqueue(
      { text: 'no usage', usage: 'none' },
      { text: 'quirky', usage: { prompt_tokens: 1, completion_tokens: 2 }, usageInEmptyChoicesChunk: false },
    );
    const params = { model: 'm', messages, stream: true as const, stream_options: { include_usage: true } };
    const a = await collect(await client.chat.completions.create(params));
    expect(a.some((c) => c.usage)).toBe(false);
    expect(a.at(-1)!.choices).toHaveLength(1);

    const b = await collect(await client.chat.completions.create(params));
    const last = b.at(-1)!;
    expect(last.choices[0]!.finish_reason).toBe('stop');
    expect(last.usage?.total_tokens).toBe(3);
  });

  it('is consumable by the SDK stream helper and by a plain fetch + parseSse', async () => {
    fake.enqueue({ text: 'Helper text.', finishReason: 'length' });
    const final = await client.chat.completions.stream({ model: 'm', messages }).finalChatCompletion();
    expect(final.choices[0]!.message.content).toBe('Helper text.');
    expect(final.choices[0]!.finish_reason).toBe('length');

    fake.enqueue({ text: 'raw text' });
    const res = await fetch(`${fake.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages, stream: true }),
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const payloads: string[] = [];
    for await (const data of parseSse(res.body!)) payloads.push(data);
    expect(payloads.at(-1)).toBe('[DONE]');
    const text = payloads
      .slice(0, -1)
      .map((p) => (JSON.parse(p) as ChatCompletionChunk).choices[0]?.delta.content ?? '')
      .join('');
    expect(text).toBe('raw text');
  });
});

describe('streaming tool calls', () => {
  it('splits arguments into fragments that the SDK reassembles', async () => {
    const args = JSON.stringify({ query: 'iPhone 12 screen "cracked"' });
    fake.enqueue({
      toolCalls: [{ name: 'search_guides', arguments: args }],
      usage: { prompt_tokens: 30, completion_tokens: 9 },
    });
    const chunks = await collect(
      await client.chat.completions.create({
        model: 'm',
        messages,
        tools,
        stream: true,
        stream_options: { include_usage: true },
      }),
    );
    const toolDeltas = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(toolDeltas.length).toBeGreaterThan(3);
    const [head, ...rest] = toolDeltas;
    expect(head).toMatchObject({ index: 0, type: 'function', function: { name: 'search_guides' } });
    expect(head!.id).toMatch(/^call_/);
    expect(chunks[0]!.choices[0]!.delta).toMatchObject({ role: 'assistant', content: null });
    expect(rest.every((d) => d.id === undefined && d.function?.name === undefined)).toBe(true);
    expect(toolDeltas.map((d) => d.function?.arguments ?? '').join('')).toBe(args);
    expect(chunks.find((c) => c.choices[0]?.finish_reason)!.choices[0]!.finish_reason).toBe('tool_calls');
    expect(chunks.at(-1)!.usage?.total_tokens).toBe(39);
  });

  it('reassembles several calls (with leading text) through the SDK accumulator', async () => {
    fake.enqueue({
      text: 'Let me check two sources.',
      toolCalls: [
        { name: 'search_guides', arguments: '{"query":"iphone screen"}', id: 'call_fixed1' },
        { name: 'web_search', arguments: '{"q":"iphone 12 oled price"}' },
      ],
    });
    const final = await client.chat.completions.stream({ model: 'm', messages, tools }).finalChatCompletion();
    const message = final.choices[0]!.message;
    expect(message.content).toBe('Let me check two sources.');
    expect(message.tool_calls).toHaveLength(2);
    const [first, second] = message.tool_calls!;
    expect(first).toMatchObject({
      id: 'call_fixed1',
      type: 'function',
      function: { name: 'search_guides', arguments: '{"query":"iphone screen"}' },
    });
    expect(second?.type === 'function' && JSON.parse(second.function.arguments)).toEqual({
      q: 'iphone 12 oled price',
    });
  });

  it("sends whole arguments in one chunk and can report finish_reason 'stop'", async () => {
    fake.enqueue({
      toolCalls: [{ name: 'search_guides', arguments: '{"query":"ps5 hdmi"}' }],
      split: 'whole',
      finishReason: 'stop',
    });
    const chunks = await collect(
      await client.chat.completions.create({ model: 'm', messages, tools, stream: true }),
    );
    const toolDeltas = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(toolDeltas).toHaveLength(1);
    expect(toolDeltas[0]!.function).toEqual({ name: 'search_guides', arguments: '{"query":"ps5 hdmi"}' });
    expect(chunks.find((c) => c.choices[0]?.finish_reason)!.choices[0]!.finish_reason).toBe('stop');
  });
});

describe('non-streaming', () => {
  it('returns a chat.completion for text and for tool calls', async () => {
    fake.enqueue({ text: 'Plain answer.', usage: { prompt_tokens: 5, completion_tokens: 3 } });
    fake.enqueue({ toolCalls: [{ name: 'search_guides', arguments: '{"query":"battery"}' }] });
    const a = await client.chat.completions.create({ model: 'm', messages });
    expect(a.object).toBe('chat.completion');
    expect(a.choices[0]!.message).toMatchObject({ role: 'assistant', content: 'Plain answer.' });
    expect(a.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });

    const b = await client.chat.completions.create({ model: 'm', messages, tools });
    expect(b.choices[0]!.finish_reason).toBe('tool_calls');
    expect(b.choices[0]!.message.content).toBeNull();
    const call = b.choices[0]!.message.tool_calls![0]!;
    expect(call.type === 'function' && call.function).toEqual({
      name: 'search_guides',
      arguments: '{"query":"battery"}',
    });
    expect(b.usage!.total_tokens).toBeGreaterThan(0);
  });
});

describe('errors and failures', () => {
  it('maps statuses to the SDK error classes with OpenAI-shaped bodies', async () => {
    fake.enqueue(
      { error: { status: 429, retryAfterMs: 10 } },
      { error: { status: 500, message: 'boom' } },
      { error: { status: 503 } },
      { error: { status: 400, message: 'bad', code: 'context_length_exceeded' } },
    );
    const call = () => client.chat.completions.create({ model: 'm', messages });
    const rate = await call().catch((e: unknown) => e);
    expect(rate).toBeInstanceOf(OpenAI.RateLimitError);
    expect(rate).toMatchObject({ status: 429, code: 'rate_limit_exceeded', type: 'requests' });
    expect((rate as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after-ms')).toBe('10');
    await expect(call()).rejects.toMatchObject({
      status: 500,
      message: expect.stringContaining('boom') as unknown,
    });
    await expect(call()).rejects.toBeInstanceOf(OpenAI.InternalServerError);
    await expect(call()).rejects.toMatchObject({ status: 400, code: 'context_length_exceeded' });
  });

  it('lets the SDK retry a 429 using retry-after-ms, consuming one reply per attempt', async () => {
    fake.enqueue({ error: { status: 429, retryAfterMs: 1 } }, { text: 'after retry' });
    const retrying = new OpenAI({ baseURL: fake.baseURL, apiKey: 'x', maxRetries: 1 });
    const started = Date.now();
    const res = await retrying.chat.completions.create({ model: 'm', messages });
    expect(res.choices[0]!.message.content).toBe('after retry');
    expect(Date.now() - started).toBeLessThan(400);
    expect(fake.requests).toHaveLength(2);
    expect(fake.requests[1]!.headers['x-stainless-retry-count']).toBe('1');
  });

  it('drops the connection mid-stream after the requested chunks', async () => {
    fake.enqueue({ dropAfterChunks: 3, text: 'one two three four five six' });
    const seen: string[] = [];
    const consume = async () => {
      const stream = await client.chat.completions.create({ model: 'm', messages, stream: true });
      for await (const c of stream) seen.push(c.choices[0]?.delta.content ?? '');
    };
    await expect(consume()).rejects.toThrow();
    expect(seen.join('')).toBe('one two');
  });

  it('delivers a mid-stream error event that the SDK raises', async () => {
    fake.enqueue({
      text: 'partial answer here',
      midStreamError: { afterChunks: 2, message: 'overloaded mid-stream' },
    });
    const consume = async () => {
      const stream = await client.chat.completions.create({ model: 'm', messages, stream: true });
      for await (const _ of stream) void _;
    };
    await expect(consume()).rejects.toMatchObject({
      message: expect.stringContaining('overloaded mid-stream') as unknown,
    });
  });

  it('hangs long enough for the SDK timeout to fire, then serves the follow-up', async () => {
    fake.enqueue({ hangMs: 2_000 });
    const impatient = new OpenAI({ baseURL: fake.baseURL, apiKey: 'x', maxRetries: 0, timeout: 100 });
    await expect(impatient.chat.completions.create({ model: 'm', messages })).rejects.toBeInstanceOf(
      OpenAI.APIConnectionTimeoutError,
    );

    fake.enqueue({ hangMs: 20, then: { text: 'slow but fine' } });
    const res = await client.chat.completions.create({ model: 'm', messages });
    expect(res.choices[0]!.message.content).toBe('slow but fine');
  });

  it('answers 500 when the script is exhausted, unless a default or responder applies', async () => {
    await expect(client.chat.completions.create({ model: 'm', messages })).rejects.toMatchObject({
      status: 500,
      message: expect.stringContaining('script exhausted') as unknown,
    });
    fake.setDefaultReply({ text: 'default' });
    expect((await client.chat.completions.create({ model: 'm', messages })).choices[0]!.message.content).toBe(
      'default',
    );

    fake.setResponder((body) =>
      body.messages.at(-1)?.role === 'user'
        ? { toolCalls: [{ name: 'search_guides', arguments: '{"query":"x"}' }] }
        : { text: 'done with tools' },
    );
    const first = await client.chat.completions.create({ model: 'm', messages, tools });
    const call = first.choices[0]!.message.tool_calls![0]!;
    const second = await client.chat.completions.create({
      model: 'm',
      messages: [
        ...messages,
        first.choices[0]!.message,
        { role: 'tool', tool_call_id: call.id, content: '[]' },
      ],
    });
    expect(second.choices[0]!.message.content).toBe('done with tools');
    fake.enqueue({ text: 'queue wins' });
    expect((await client.chat.completions.create({ model: 'm', messages })).choices[0]!.message.content).toBe(
      'queue wins',
    );
  });
});

describe('images', () => {
  const photo = 'data:image/png;base64,iVBORw0KGgo=';
  const withPhoto = [
    messages[0]!,
    {
      role: 'user' as const,
      content: [
        { type: 'text' as const, text: 'What is this part?' },
        { type: 'image_url' as const, image_url: { url: photo, detail: 'low' as const } },
      ],
    },
  ];

  it('records image parts as the SDK sent them, and answers them by default', async () => {
    fake.enqueue({ text: 'A ribbon cable.' });
    const res = await client.chat.completions.create({ model: 'm', messages: withPhoto });
    expect(res.choices[0]!.message.content).toBe('A ribbon cable.');
    expect(fake.requests[0]!.body.messages[1]!.content).toEqual([
      { type: 'text', text: 'What is this part?' },
      { type: 'image_url', image_url: { url: photo, detail: 'low' } },
    ]);
  });

  it('acceptsImages: false refuses image parts with OpenAI\'s 400 and keeps the scripted reply for the next request', async () => {
    await using textOnly = await startFakeOpenAI({ acceptsImages: false, script: [{ text: 'text is fine' }] });
    const sdk = new OpenAI({ baseURL: textOnly.baseURL, apiKey: 'x', maxRetries: 0 });
    const refused = await sdk.chat.completions.create({ model: 'gpt-3.5-turbo', messages: withPhoto, stream: true }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect(refused).toMatchObject({
      status: 400,
      type: 'invalid_request_error',
      param: 'messages.[1].content.[1].type',
      code: null,
      message: expect.stringContaining('Invalid content type. image_url is only supported by certain models.') as unknown,
    });
    expect(textOnly.requests).toHaveLength(1);
    const res = await sdk.chat.completions.create({ model: 'gpt-3.5-turbo', messages });
    expect(res.choices[0]!.message.content).toBe('text is fine');
  });
});

describe('server', () => {
  it('lists models and rejects unknown routes like OpenAI', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['gpt-4o-mini']);
    const res = await fetch(`${fake.baseURL}/embeddings`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { message: 'Invalid URL (POST /v1/embeddings)' } });
  });

  it('supports await using and closes despite keep-alive connections', async () => {
    let url = '';
    {
      await using scoped = await startFakeOpenAI({ defaultReply: { text: 'hi' } });
      url = scoped.baseURL;
      const c = new OpenAI({ baseURL: url, apiKey: 'x', maxRetries: 0 });
      expect((await c.chat.completions.create({ model: 'm', messages })).choices[0]!.message.content).toBe(
        'hi',
      );
    }
    await expect(fetch(`${url}/models`)).rejects.toThrow();
  });

  it('enforces apiKey when configured', async () => {
    await using strict = await startFakeOpenAI({ apiKey: 'sk-right', defaultReply: { text: 'ok' } });
    const wrong = new OpenAI({ baseURL: strict.baseURL, apiKey: 'sk-wrong', maxRetries: 0 });
    await expect(wrong.chat.completions.create({ model: 'm', messages })).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    );
  });
});
