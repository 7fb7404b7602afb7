export { type FakeServer } from './http-server';
export { type RecordedRequest } from './http-io';
export { startFakeOpenAI, type FakeOpenAI } from './fake-openai';
export type {
  ChatRequestBody,
  ChatRequestMessage,
  FakeDropReply,
  FakeErrorReply,
  FakeHangReply,
  FakeMidStreamError,
  FakeOpenAIOptions,
  FakeReply,
  FakeResponder,
  FakeTextReply,
  FakeToolCall,
  FakeToolCallsReply,
  FakeUsage,
  RecordedChatRequest,
  StreamPacing,
} from './fake-openai-types';
export { startFakeIfixit, type FakeIfixit, type FakeIfixitOptions } from './fake-ifixit';
export {
  defaultIfixitCatalogue,
  type IfixitGuideSeed,
  type IfixitItemSeed,
  type IfixitLineSeed,
  type IfixitStepSeed,
} from './ifixit-catalogue';
export { buildIfixitGuide, buildIfixitGuideSummary, guideUrl } from './ifixit-payloads';
export {
  startFakeSearxng,
  defaultSearxngResults,
  type FakeSearxng,
  type FakeSearxngOptions,
  type SearxngResultSeed,
} from './fake-searxng';
export {
  startFakeTavily,
  defaultTavilyResults,
  type FakeTavily,
  type FakeTavilyOptions,
  type TavilyResultSeed,
} from './fake-tavily';
export { parseSse, parseSseEvents, type SseEvent, type SseSource } from './sse';
