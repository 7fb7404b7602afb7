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
export { openDatabase, migrationsDir, type Database, type Db, type Driver } from './db/index';
export type { Source } from './db/schema';
