/**
 * The four queries of the design note's "Querying Sessions" section, copied byte for byte (trailing spaces
 * included). The schema must keep running them unchanged.
 */

/** View all user conversations */
export const VIEW_ALL_USER_CONVERSATIONS = `SELECT * FROM conversations 
WHERE thread_id = 'user-abc123' 
ORDER BY created_at DESC;`;

/** Count messages per user */
export const COUNT_MESSAGES_PER_USER = `SELECT user_id, COUNT(*) as message_count 
FROM conversations 
GROUP BY user_id 
ORDER BY message_count DESC;`;

/** Get active sessions (last 24 hours) */
export const ACTIVE_SESSIONS_LAST_24H = `SELECT DISTINCT user_id, thread_id, MAX(created_at) as last_active
FROM conversations 
WHERE created_at > NOW() - INTERVAL '24 hours'
GROUP BY user_id, thread_id
ORDER BY last_active DESC;`;

/** Token usage leaderboard */
export const TOKEN_USAGE_LEADERBOARD = `SELECT user_id, total_tokens 
FROM user_usage 
ORDER BY total_tokens DESC 
LIMIT 10;`;
