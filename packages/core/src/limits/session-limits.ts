/** One configured limit as `GET /chat/sessions` shows it. */
export interface LimitUsage {
  limit: number;
  used: number;
  /** ISO 8601, UTC; null for a limit that never resets (the lifetime quota). */
  resets_at: string | null;
}

export interface DailyTokensUsage extends LimitUsage {
  /** Set aside by the user's turns still running, beside `used`. */
  reserved: number;
  resets_at: string;
}

/** A lifetime allowance never resets. */
export interface LifetimeUsage extends LimitUsage {
  resets_at: null;
}

/** Each limit, null when it is not configured. */
export interface SessionLimits {
  /** TOKEN_QUOTA: lifetime tokens. */
  token_quota: LifetimeUsage | null;
  /** DAILY_TOKEN_QUOTA: tokens per UTC day. */
  daily_tokens: DailyTokensUsage | null;
  /** RATE_LIMIT_PER_MINUTE: requests in the current minute's window. */
  requests_per_minute: LimitUsage | null;
}
