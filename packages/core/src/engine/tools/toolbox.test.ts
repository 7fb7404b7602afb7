import { startFakeIfixit } from '@fixthread/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToolbox } from './toolbox';

describe('createToolbox', () => {
  let ifixit: Awaited<ReturnType<typeof startFakeIfixit>>;
  beforeAll(async () => {
    ifixit = await startFakeIfixit();
  });
  afterAll(() => ifixit.close());

  it('a turn stopped before its tool call runs rejects the call, and the tool’s own abort is handled (it used to end the process)', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const toolbox = createToolbox({ ifixitApiUrl: ifixit.apiUrl, webSearch: null, userAgent: 'test', timeoutMs: 8_000, maxRounds: 4 });
      const stopped = new AbortController();
      stopped.abort(new Error('stopped by the user'));
      const call = { id: 'call_1', name: 'search_ifixit_guides', arguments: '{"query":"iPhone 12 screen"}' };
      await expect(toolbox.run(call, stopped.signal)).rejects.toThrow('stopped by the user');
      // The tool's fetch rejects with AbortError a moment later; give it time to surface if nobody handles it.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
