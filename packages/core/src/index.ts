export * from './errors';
export { countTokens } from './tokens';
export type { LimitUsage, LifetimeUsage, DailyTokensUsage, SessionLimits } from './limits/session-limits';
export type { RequestCounter, WindowCount } from './limits/request-counter';
export { inProcessRequestCounter } from './limits/in-process-request-counter';
export { createRedisRequestCounter, type RedisRequestCounterOptions } from './limits/redis-request-counter';
export { createRequestLimiter, RATE_LIMIT_WINDOW_MS, type RequestLimiter } from './limits/request-limiter';
export { OUTPUT_ALLOWANCE_TOKENS } from './engine/daily-budget';
export { dailyTokens, utcDay, nextUtcMidnight } from './store/daily-usage';
export { threadIdFor } from './store/thread-id';
export { addUsage, totalTokens } from './store/usage';
export {
  appendUserMessage,
  appendAssistantMessage,
  history,
  clearThread,
  stats,
  type HistoryMessage,
  type MessageAttachment,
  type ThreadStats,
  type ToolCallRecord,
  type AssistantMessageInput,
  type StoredMessage,
  type Role,
} from './store/messages';
export { CONTEXT_WINDOW, loadContext, type ContextMessage, type LoadContextOptions } from './store/context';
// The statements baseline A runs raw in the server's benchmark, so it stays the SQL a turn sends.
export { APPEND_TURN_EVENTS } from './store/turns';
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
export { validateCaption, validateMessage } from './engine/validate-message';
export type { TurnMode, TurnObserver, TurnOutcome, TurnSummary } from './engine/turn-observer';
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
  SessionStats,
  HistoryResult,
  ClearResult,
  UploadedAttachment,
  AttachmentFile,
} from './engine/types';
export type { ControlMessage, LiveEvents, LiveStatus } from './live/live-events';
export { inProcessLiveEvents } from './live/in-process-live-events';
export { createRedisLiveEvents, type RedisLiveOptions } from './live/redis-live-events';
export type { ThreadSummary } from './store/threads';
export type { SearchResult } from './store/search';
export type { ExportedMessage } from './store/export';
export { TITLE_PURPOSE_HEADER } from './engine/thread-titles';
export { sniffImageType, type ImageKind } from './attachments/sniff-image-type';
export { DEFAULT_IMAGE_LIMITS, MAX_LONG_SIDE, THUMBNAIL_LONG_SIDE, type ImageLimits } from './attachments/image-limits';
// Types only: normaliseImage loads sharp, which the server's bundle cannot hold (see attachments-foundation.md).
export type { NormalisedImage, EncodedImage } from './attachments/normalise-image';
export { imageTokens, type ImageDetail, type ImageTokenCount } from './attachments/image-tokens';
export {
  saveAttachment,
  getAttachment,
  claimAttachments,
  attachmentsOfMessages,
  imagesForContext,
  sweepUnsentAttachments,
  isAttachmentId,
  MAX_ATTACHMENTS_PER_MESSAGE,
  type SavedAttachment,
  type AttachmentMeta,
  type AttachmentContent,
  type AttachmentVariant,
  type ContextImage,
} from './store/attachments';
export { ATTACHMENT_CONTENT_TYPES, type AttachmentContentType } from './db/schema';
