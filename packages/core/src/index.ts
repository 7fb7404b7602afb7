export * from './errors';
export { countTokens } from './tokens';
export { threadIdFor } from './store/thread-id';
export { addUsage, totalTokens } from './store/usage';
export {
  appendUserMessage,
  appendAssistantMessage,
  history,
  clearThread,
  stats,
  type HistoryMessage,
  type ThreadStats,
  type ToolCallRecord,
  type AssistantMessageInput,
  type StoredMessage,
  type Role,
} from './store/messages';
export { loadContext, type ContextMessage, type LoadContextOptions } from './store/context';
export {
  openDatabase,
  migrationsDir,
  createDatabaseGuard,
  isDatabaseUnreachable,
  type Database,
  type DatabaseGuard,
  type Db,
  type Driver,
} from './db/index';
export type { Source } from './db/schema';
export { createChatEngine, HISTORY_LIMIT_DEFAULT, HISTORY_LIMIT_MAX } from './engine/create-chat-engine';
export { validateMessage } from './engine/validate-message';
export { eventIdOf, parseEventId } from './engine/event-id';
export {
  DEFAULT_SYSTEM_PROMPT,
  type ChatEngineOptions,
  type LlmOptions,
  type ToolOptions,
  type WebSearchOptions,
} from './engine/options';
export type {
  ChatEngine,
  Turn,
  TurnEvent,
  SequencedEvent,
  SendOptions,
  ThreadOption,
  HistoryRequest,
  ThreadPage,
  ExportRecord,
  DoneEvent,
  SendResult,
  HistoryResult,
  ClearResult,
} from './engine/types';
export type { ControlMessage, LiveEvents, LiveStatus } from './live/live-events';
export { inProcessLiveEvents } from './live/in-process-live-events';
export { createRedisLiveEvents, type RedisLiveOptions } from './live/redis-live-events';
export type { ThreadSummary } from './store/threads';
export type { SearchResult } from './store/search';
export type { ExportedMessage } from './store/export';
export { TITLE_PURPOSE_HEADER } from './engine/thread-titles';
