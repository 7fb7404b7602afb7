/**
 * One test per input defect, named after what broke. Each drives the real server the way a client would
 * (raw bytes over HTTP, the tRPC wire protocol over a raw WebSocket) and checks what was stored.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { testDrivers } from '@fixthread/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INVALID_UTF8 } from './support/arbitraries';
import { FAKE_REPLY, startHarness, type Harness } from './support/harness';
import { signToken } from './support/tokens';
import { rawRequest, RawTrpcSocket, sseEvents, type RawResponse, type WsFrame } from './support/wire';

/** Asymmetric matchers typed as unknown, so they sit in object literals without `any` leaking in. */
const anyString: unknown = expect.any(String);

interface StreamedTurn {
  /** The token contents joined: the reply as the user saw it. */
  text: string;
  events: { type?: string; content?: string; thread_id?: string; usage?: { total_tokens: number } }[];
  raw: string;
}

describe.each(testDrivers())('input regressions on $name', (driver) => {
  let h: Harness;
  let serial = 0;
  const freshUser = (tag: string) => `${tag}-${++serial}`;

  beforeAll(async () => {
    h = await startHarness(driver);
  });
  afterAll(() => h?.close());

  async function snapshot() {
    const usage = (await h.usage()).map((u) => [u.userId, u.totalTokens]).sort();
    return { messages: (await h.messages()).length, usage: JSON.stringify(usage) };
  }

  const json = (token: string, path: string, body: unknown) =>
    rawRequest(h.url, {
      method: 'POST',
      path,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  const get = (token: string, path: string) =>
    rawRequest(h.url, { method: 'GET', path, headers: { authorization: `Bearer ${token}` } });

  function expect401(res: RawResponse, what: string) {
    expect(res.status, `${what} → ${res.status} ${res.text.slice(0, 200)}`).toBe(401);
    expect(res.headers['content-type'], what).toMatch(/^application\/json/);
    expect(res.headers['www-authenticate'], what).toBe('Bearer');
    expect(res.json, what).toMatchObject({ error: { code: 'UNAUTHORIZED', message: anyString } });
  }

  async function sseTurn(token: string, message: string): Promise<StreamedTurn> {
    const res = await json(token, '/chat/stream', { message });
    expect(res.status, `POST /chat/stream → ${res.status} ${res.text.slice(0, 300)}`).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const events = (await sseEvents(res.text)) as StreamedTurn['events'];
    return {
      events,
      raw: res.text,
      text: events.map((e) => (e.type === 'token' ? (e.content ?? '') : '')).join(''),
    };
  }

  async function wsTurn(token: string, message: string): Promise<StreamedTurn> {
    const socket = await RawTrpcSocket.open(h.url, { token });
    try {
      const frames = await socket.call({
        id: 1,
        method: 'subscription',
        params: { path: 'chat.stream', input: { message } },
      });
      const failure = frames.find((f) => typeof f === 'object' && f.error);
      expect(failure, `chat.stream over the WebSocket failed: ${JSON.stringify(failure)}`).toBeUndefined();
      const events = frames
        .filter((f): f is Exclude<WsFrame, string> => typeof f === 'object' && f.result?.type === 'data')
        .map((f) => (f.result?.data as { data: StreamedTurn['events'][number] }).data);
      return {
        events,
        raw: JSON.stringify(frames),
        text: events.map((e) => (e.type === 'token' ? (e.content ?? '') : '')).join(''),
      };
    } finally {
      await socket.close();
    }
  }

  async function restTurn(token: string, message: string): Promise<StreamedTurn> {
    const res = await json(token, '/chat', { message });
    expect(res.status, `POST /chat → ${res.status} ${res.text.slice(0, 300)}`).toBe(200);
    const { response } = res.json as { response: string };
    return { events: [], raw: res.text, text: response };
  }

  async function trpcSendTurn(token: string, message: string): Promise<StreamedTurn> {
    const res = await json(token, '/trpc/chat.send', { message });
    expect(res.status, `POST /trpc/chat.send → ${res.status} ${res.text.slice(0, 300)}`).toBe(200);
    const { response } = (res.json as { result: { data: { response: string } } }).result.data;
    return { events: [], raw: res.text, text: response };
  }

  function expectEndsWithDone(turn: StreamedTurn, userId: string) {
    expect(
      turn.events.filter((e) => e.type === 'error'),
      `no error event: ${turn.raw.slice(-400)}`,
    ).toEqual([]);
    expect(turn.events.at(-1), `the stream ends with done: ${turn.raw.slice(-400)}`).toMatchObject({
      type: 'done',
      thread_id: `user-${userId}`,
    });
  }

  // ------------------------------------------------------------------ a. identity

  describe('token subjects', () => {
    it('three token subjects that differ only in lone surrogates ("\\ud800x", "\\udfffx", "\\ufffdx") are three different users, or the malformed ones are refused with 401', async () => {
      const subjects = ['\ud800x', '\udfffx', '\ufffdx'];
      for (const sub of subjects) {
        const label = JSON.stringify(sub);
        const token = await signToken(sub);
        const before = await snapshot();
        const res = await json(token, '/chat', { message: `question from ${label}` });
        if (!sub.isWellFormed()) {
          expect401(res, `POST /chat as ${label}`);
          expect401(await get(token, '/chat/sessions'), `GET /chat/sessions as ${label}`);
          expect401(await json(token, '/chat/stream', { message: 'x' }), `POST /chat/stream as ${label}`);
          const trpc = await json(token, '/trpc/chat.send', { message: `trpc from ${label}` });
          expect(trpc.status, `tRPC chat.send as ${label} → ${trpc.text.slice(0, 200)}`).toBe(401);
          expect(trpc.json, label).toMatchObject({
            error: { data: { code: 'UNAUTHORIZED', httpStatus: 401 } },
          });
          const socket = await RawTrpcSocket.open(h.url, { token });
          try {
            const frames = await socket.call({
              id: 1,
              method: 'subscription',
              params: { path: 'chat.stream', input: { message: `ws from ${label}` } },
            });
            expect(
              frames.at(-1),
              `chat.stream over the WebSocket as ${label}: ${JSON.stringify(frames)}`,
            ).toMatchObject({ error: { data: { code: 'UNAUTHORIZED' } } });
          } finally {
            await socket.close();
          }
          expect(await snapshot(), `${label} was refused, so nothing is stored`).toEqual(before);
          continue;
        }
        expect(res.status, `POST /chat as ${label} → ${res.text.slice(0, 200)}`).toBe(200);
        expect(res.json).toEqual({ response: FAKE_REPLY, thread_id: `user-${sub}` });
      }
      const rows = (await h.messages()).filter((m) => subjects.includes(m.userId));
      expect(
        rows.map((m) => [m.userId, m.role, m.content]),
        'only "\\ufffdx" is stored, under exactly that id, with only its own message',
      ).toEqual([
        ['\ufffdx', 'user', 'question from "\ufffdx"'],
        ['\ufffdx', 'assistant', FAKE_REPLY],
      ]);
      const history = await get(await signToken('\ufffdx'), '/chat/history');
      expect((history.json as { messages: { content: string }[] }).messages.map((m) => m.content)).toEqual([
        'question from "\ufffdx"',
        FAKE_REPLY,
      ]);
      expect((await h.usage()).filter((u) => subjects.includes(u.userId)).map((u) => u.userId)).toEqual([
        '\ufffdx',
      ]);
    });

    it.each([
      ['Unicode normalisation (NFC "é" vs NFD "e\\u0301")', 'caf\u00e9', 'cafe\u0301'],
      ['case ("Bob" vs "bob")', 'Bob', 'bob'],
      ['a leading space', ' dave', 'dave'],
      ['a trailing space', 'erin ', 'erin'],
      ['surrounding whitespace on both sides', ' frank ', 'frank'],
      ['a non-breaking space', 'gina\u00a0', 'gina'],
      ['a zero-width space', 'hal\u200b', 'hal'],
    ])(
      'subjects that differ only by %s never share rows: each gets its own thread or a 401',
      async (_label, first, second) => {
        const outcomes: { sub: string; status: number; said: string }[] = [];
        const before = await snapshot();
        for (const sub of [first, second]) {
          const said = `private note of ${JSON.stringify(sub)}`;
          const res = await json(await signToken(sub), '/chat', { message: said });
          if (res.status === 401) expect401(res, JSON.stringify(sub));
          else {
            expect(res.status, `${JSON.stringify(sub)} → ${res.text.slice(0, 200)}`).toBe(200);
            expect(res.json, JSON.stringify(sub)).toEqual({ response: FAKE_REPLY, thread_id: `user-${sub}` });
          }
          outcomes.push({ sub, status: res.status, said });
        }
        const accepted = outcomes.filter((o) => o.status === 200);
        const rows = (await h.messages()).slice(before.messages);
        expect(rows, 'two rows per accepted subject, none for a refused one').toHaveLength(
          2 * accepted.length,
        );
        for (const { sub, said } of accepted) {
          const mine = rows.filter((m) => m.userId === sub);
          expect(
            mine.map((m) => [m.role, m.content, m.threadId]),
            `${JSON.stringify(sub)} owns exactly its own rows`,
          ).toEqual([
            ['user', said, `user-${sub}`],
            ['assistant', FAKE_REPLY, `user-${sub}`],
          ]);
          const history = await get(await signToken(sub), '/chat/history');
          const contents = (history.json as { messages: { role: string; content: string }[] }).messages
            .filter((m) => m.role === 'user')
            .map((m) => m.content);
          expect(contents, `${JSON.stringify(sub)} sees only its own messages`).toEqual([said]);
        }
        if (accepted.length === 2)
          expect(new Set(rows.map((m) => m.userId)).size, 'two distinct user_id values').toBe(2);
      },
    );
  });

  // ------------------------------------------------------------------ b. invalid UTF-8

  describe('invalid UTF-8', () => {
    const bodyWith = (bytes: readonly number[]) =>
      Buffer.concat([
        Buffer.from('{"message":"fix my ', 'utf8'),
        Buffer.from(bytes),
        Buffer.from(' phone"}', 'utf8'),
      ]);

    it.each([['/chat'], ['/chat/stream'], ['/trpc/chat.send'], ['/trpc/chat.send?batch=1']])(
      'a request body of invalid UTF-8 is refused with 400 and stores nothing: POST %s',
      async (path) => {
        const user = freshUser('utf8');
        const token = await signToken(user);
        const failures: string[] = [];
        const before = await snapshot();
        for (const [name, bytes] of INVALID_UTF8) {
          const body = path.endsWith('batch=1')
            ? Buffer.concat([Buffer.from('{"0":'), bodyWith(bytes), Buffer.from('}')])
            : bodyWith(bytes);
          let res: RawResponse;
          try {
            // A refusal is immediate; 3 s is plenty even on a busy machine.
            res = await rawRequest(
              h.url,
              {
                method: 'POST',
                path,
                headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
                body,
              },
              3_000,
            );
          } catch (error) {
            failures.push(`${name}: ${(error as Error).message}`);
            // One hang is the finding; waiting out the rest would only time the test out.
            break;
          }
          const envelope = Array.isArray(res.json) ? (res.json as unknown[])[0] : res.json;
          const restShape = (envelope as { error?: { code?: unknown } } | undefined)?.error?.code;
          const ok =
            res.status === 400 &&
            (typeof restShape === 'string'
              ? ['INVALID_UTF8', 'INVALID_JSON'].includes(restShape)
              : path.startsWith('/trpc') &&
                (envelope as { error?: { data?: { httpStatus?: number } } } | undefined)?.error?.data
                  ?.httpStatus === 400);
          if (!ok) failures.push(`${name}: ${res.status} ${res.text.slice(0, 200)}`);
        }
        expect(
          failures,
          `POST ${path}: each invalid sequence must be a 400 INVALID_UTF8/INVALID_JSON`,
        ).toEqual([]);
        expect(await snapshot(), 'nothing stored').toEqual(before);
        expect(
          (await h.messages()).filter((m) => m.userId === user),
          'no U+FFFD-substituted message stored',
        ).toEqual([]);
      },
    );

    it('over the WebSocket, an invalid UTF-8 text frame or a binary frame gets an error, not a stored message', async () => {
      const token = await signToken(freshUser('ws-utf8'));
      const before = await snapshot();
      const call = (input: Buffer) =>
        Buffer.concat([
          Buffer.from('{"id":1,"method":"mutation","params":{"path":"chat.send","input":'),
          input,
          Buffer.from('}}'),
        ]);
      const cases: [string, Buffer, boolean][] = [
        ...INVALID_UTF8.map(
          ([name, bytes]) =>
            [`text frame with ${name}`, call(bodyWith(bytes)), false] as [string, Buffer, boolean],
        ),
        [
          'binary frame carrying a valid chat.send',
          call(Buffer.from(JSON.stringify({ message: 'binary hello' }))),
          true,
        ],
        ['binary frame of invalid UTF-8', call(bodyWith([0xff, 0xfe])), true],
      ];
      for (const [label, frame, binary] of cases) {
        const socket = await RawTrpcSocket.open(h.url, { token });
        try {
          socket.send(frame, { binary });
          await socket.until(
            () =>
              socket.frames.some(
                (f) => typeof f === 'object' && (f.error !== undefined || f.result !== undefined),
              ),
            5_000,
            label,
          );
          const results = socket.frames.filter((f) => typeof f === 'object' && f.result !== undefined);
          expect(results, `${label}: no result`).toEqual([]);
          if (!socket.closeState) {
            const error = socket.frames.find(
              (f): f is Exclude<WsFrame, string> => typeof f === 'object' && f.error !== undefined,
            );
            expect(
              error?.error?.data.httpStatus,
              `${label}: a 4xx error frame, got ${JSON.stringify(socket.frames)}`,
            ).toBeGreaterThanOrEqual(400);
            expect(error?.error?.data.httpStatus, label).toBeLessThan(500);
          } else {
            expect([1007, 1002, 1003], `${label}: closed as a protocol/data error`).toContain(
              socket.closeState.code,
            );
          }
        } finally {
          await socket.close();
        }
      }
      expect(await snapshot(), 'nothing stored').toEqual(before);
    });
  });

  // ------------------------------------------------------------------ c. control tokens in the user's message

  describe('model control tokens in a message', () => {
    const MESSAGE =
      'My console log prints <|im_start|>system then <|endoftext|> and <|fim_prefix|> — is the firmware corrupt?';
    const transports: [string, (token: string, message: string) => Promise<StreamedTurn>][] = [
      ['POST /chat', restTurn],
      ['POST /chat/stream', sseTurn],
      ['tRPC chat.send over HTTP', trpcSendTurn],
      ['tRPC chat.stream over the WebSocket', wsTurn],
    ];

    it.each(transports)(
      'a message containing <|im_start|> is answered, stored and counted, not a 500: %s',
      async (transport, send) => {
        const user = freshUser('im-start');
        const turn = await send(await signToken(user), MESSAGE);
        if (transport.includes('stream')) expectEndsWithDone(turn, user);
        expect(turn.text).toBe(FAKE_REPLY);
        const rows = (await h.messages()).filter((m) => m.userId === user);
        expect(rows.map((m) => [m.role, m.content])).toEqual([
          ['user', MESSAGE],
          ['assistant', FAKE_REPLY],
        ]);
        expect(rows[0]?.contentTokens ?? 0, 'content_tokens of the user message').toBeGreaterThan(0);
        expect(
          (await h.usage()).find((u) => u.userId === user)?.totalTokens ?? 0,
          'user_usage counted',
        ).toBeGreaterThan(0);
      },
    );
  });

  // ------------------------------------------------------------------ d. control tokens in the model's reply

  describe('model control tokens in a reply', () => {
    const REPLY =
      'Hold the power button for 10 s.<|im_end|> Then <|endoftext|> release it and <|im_start|>assistant wait.';
    const transports: [string, (token: string, message: string) => Promise<StreamedTurn>][] = [
      ['POST /chat/stream', sseTurn],
      ['tRPC chat.stream over the WebSocket', wsTurn],
      ['POST /chat', restTurn],
    ];

    it.each(transports)(
      'a model reply containing <|endoftext|> is streamed AND saved: %s',
      async (transport, send) => {
        const user = freshUser('endoftext');
        h.openai.enqueue({ text: REPLY });
        const turn = await send(await signToken(user), 'How do I hard-reset my router?');
        if (transport.includes('stream')) {
          expectEndsWithDone(turn, user);
          expect(turn.events.at(-1)?.usage?.total_tokens ?? 0, 'done carries the usage').toBeGreaterThan(0);
        }
        expect(turn.text, 'what the user saw').toBe(REPLY);
        const assistant = (await h.messages()).filter((m) => m.userId === user && m.role === 'assistant');
        expect(
          assistant.map((m) => m.content),
          'the saved reply is the streamed one',
        ).toEqual([REPLY]);
        expect(assistant[0]?.contentTokens ?? 0, 'content_tokens of the reply').toBeGreaterThan(0);
        expect(assistant[0]?.usageTokens ?? 0, 'usage_tokens of the reply').toBeGreaterThan(0);
        expect(
          (await h.usage()).find((u) => u.userId === user)?.totalTokens ?? 0,
          'user_usage counted',
        ).toBeGreaterThan(0);
        const history = await get(await signToken(user), '/chat/history');
        expect((history.json as { messages: { content: string }[] }).messages.map((m) => m.content)).toEqual([
          'How do I hard-reset my router?',
          REPLY,
        ]);
      },
    );
  });

  // ------------------------------------------------------------------ found by the properties: a leading BOM

  describe('a leading U+FEFF', () => {
    it.each([
      ['POST /chat', restTurn],
      ['tRPC chat.stream over the WebSocket', wsTurn],
    ])(
      'a message that starts with U+FEFF (a BOM) is stored and returned by history byte-exact: %s',
      async (_transport, send) => {
        const user = freshUser('bom');
        const message = '\ufeffMy Switch dock shows no picture';
        await send(await signToken(user), message);
        const stored = (await h.messages()).find((m) => m.userId === user && m.role === 'user');
        expect(JSON.stringify(stored?.content), 'the stored row, as read back').toBe(JSON.stringify(message));
        const history = await get(await signToken(user), '/chat/history');
        const first = (history.json as { messages: { content: string }[] }).messages[0]?.content;
        expect(JSON.stringify(first), 'history').toBe(JSON.stringify(message));
      },
    );
  });

  // ------------------------------------------------------------------ e. lone surrogates in the model's reply

  describe('broken Unicode in a reply', () => {
    const REPLY = 'The glyph \ud800 is broken, and so is \udc00 this one.';
    const transports: [string, (token: string, message: string) => Promise<StreamedTurn>][] = [
      ['POST /chat/stream', sseTurn],
      ['tRPC chat.stream over the WebSocket', wsTurn],
      ['POST /chat', restTurn],
    ];

    it.each(transports)(
      'a lone surrogate escaped in a model reply is stored as the reply the user saw: %s',
      async (transport, send) => {
        const user = freshUser('surrogate-reply');
        h.openai.enqueue({ text: REPLY });
        const turn = await send(await signToken(user), 'What does this error glyph mean?');
        if (transport.includes('stream')) expectEndsWithDone(turn, user);
        expect(turn.text.length, 'the user saw a reply').toBeGreaterThan(0);
        const history = await get(await signToken(user), '/chat/history');
        const saved = (history.json as { messages: { role: string; content: string }[] }).messages.find(
          (m) => m.role === 'assistant',
        )?.content;
        expect(JSON.stringify(saved), 'history returns exactly what was streamed').toBe(
          JSON.stringify(turn.text),
        );
        const row = (await h.messages()).find((m) => m.userId === user && m.role === 'assistant');
        expect(JSON.stringify(row?.content), 'the stored row is what was streamed').toBe(
          JSON.stringify(turn.text),
        );
      },
    );
  });
});

/**
 * In process, Vitest catches an uncaught exception and the server seems to live on; a real process dies. So this
 * one runs `src/main.ts` as a child process, exactly as `pnpm dev` does, and checks it is still there afterwards.
 */
describe('invalid UTF-8 against the real process', () => {
  const serverDir = join(import.meta.dirname, '..');
  let dataDir: string;
  let child: ReturnType<typeof spawn>;
  let url: string;
  let exited: Promise<number | null>;
  const logs: string[] = [];

  /** (Re)starts the process: after a crash, the next case gets a live server again instead of failing for the same reason. */
  async function ensureRunning(): Promise<void> {
    if (child?.exitCode === null) return;
    logs.length = 0;
    child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: serverDir,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'development',
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        DATA_DIR: dataDir,
        WEB_DIST_DIR: join(dataDir, 'no-web-client'),
        // Dev auth mode, so POST /auth/dev-login exists too; offline responder, no model needed.
        JWT_SECRET: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const started = child;
    exited = new Promise((resolve) => started.once('exit', resolve));
    createInterface({ input: started.stderr! }).on('line', (line) => logs.push(line));
    url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: started.stdout! }).on('line', (line) => {
        logs.push(line);
        const found = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1];
        if (found) resolve(found);
      });
      void exited.then((code) => reject(new Error(`server exited with ${code}:\n${logs.join('\n')}`)));
    });
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'fixthread-utf8-process-'));
    await ensureRunning();
  }, 60_000);

  afterAll(async () => {
    if (child?.exitCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const INVALID = Buffer.from([
    0x7b, 0x22, 0x6d, 0x65, 0x73, 0x73, 0x61, 0x67, 0x65, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d,
  ]); // {"message":"\xff"}

  it.each([
    ['POST', '/trpc/chat.send'],
    ['POST', '/trpc/chat.send?batch=1'],
    ['POST', '/auth/dev-login'],
    ['GET', '/auth/mode'],
    ['GET', '/health'],
    ['POST', '/no-such-route'],
    ['POST', '/chat'],
  ])(
    'a request body of invalid UTF-8 sent, without a token, to %s %s is refused and the server process keeps running',
    async (method, path) => {
      await ensureRunning();
      let answer: string;
      try {
        const res = await rawRequest(
          url,
          { method, path, headers: { 'content-type': 'application/json' }, body: INVALID },
          3_000,
        );
        answer = `${res.status} ${res.text.slice(0, 200)}`;
        expect(res.status, answer).toBeGreaterThanOrEqual(400);
        expect(res.status, answer).toBeLessThan(500);
      } catch (error) {
        answer = (error as Error).message;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      const crash = logs.filter((line) => /Unhandled|InvalidUtf8|throw er/.test(line)).join('\n');
      expect(
        child.exitCode,
        `the server process died after ${method} ${path} (${answer}):\n${crash}`,
      ).toBeNull();
      const health = await rawRequest(url, { method: 'GET', path: '/health' }, 3_000);
      expect(health.status).toBe(200);
    },
    60_000,
  );
});
