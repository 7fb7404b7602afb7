import type { DatabaseGuard } from '../db/database-guard';
import type { Db } from '../db/db';
import { DailyQuotaExceeded } from '../errors';
import type { DailyTokensUsage } from '../limits/session-limits';
import { loadContextRows } from '../store/context';
import { dailyTokens, nextUtcMidnight, releaseReservation, reserveDailyTokens, utcDay } from '../store/daily-usage';
import { MESSAGE_OVERHEAD_TOKENS } from '../tokens';

/**
 * What a turn sets aside for its answer, beside its counted prompt. An answer longer than this, or tool rounds
 * (each sends the prompt again), can make a turn use more than it reserved; the day then ends that much over.
 */
export const OUTPUT_ALLOWANCE_TOKENS = 1024;

export interface DailyBudgetDependencies {
  /** The user's row-level-security scope: every statement here reads or writes that user's rows only. */
  userDb: (userId: string) => Db;
  guard: DatabaseGuard;
  /** DAILY_TOKEN_QUOTA; null: no daily budget, and nothing here touches the database. */
  quota: number | null;
  /** Without a model, answers cost nothing: there is nothing to reserve. */
  withModel: boolean;
  fixedPromptTokens: number;
  maxContextTokens: number;
  now?: () => Date;
}

export interface TurnToReserve {
  turnId: string;
  userId: string;
  threadId: string;
  /** The new question's tokens: it is not stored yet, so the thread's window does not hold it. */
  questionTokens: number;
}

/**
 * The daily token budget. A turn reserves its estimate before its question is stored (a refusal stores
 * nothing); the reservation is released in the transaction that closes the turn, as its usage is charged
 * (`finishTurn`, recovery), or by `release` when the turn never started.
 *
 * The estimate is the prompt as it will be sent, counted the way the prompt builder counts it (system prompt
 * and tools, the thread's newest messages that fit the context budget, the question), plus
 * `OUTPUT_ALLOWANCE_TOKENS`; capped at the quota, so a fresh day always admits one turn.
 */
export function dailyBudget(deps: DailyBudgetDependencies) {
  const now = deps.now ?? (() => new Date());
  const applies = deps.quota !== null && deps.withModel;

  async function estimate(turn: TurnToReserve): Promise<number> {
    const budget = Math.max(deps.maxContextTokens - deps.fixedPromptTokens, 1);
    const rows = await deps.guard(
      () => loadContextRows(deps.userDb(turn.userId), turn.userId, { maxTokens: budget, threadId: turn.threadId }),
      'daily_budget_estimate',
    );
    const history = rows.reduce((sum, row) => sum + row.tokens, 0);
    const prompt = deps.fixedPromptTokens + Math.min(budget, history + turn.questionTokens + MESSAGE_OVERHEAD_TOKENS);
    return prompt + OUTPUT_ALLOWANCE_TOKENS;
  }

  return {
    async reserve(turn: TurnToReserve): Promise<void> {
      const quota = deps.quota;
      if (!applies || quota === null) return;
      const tokens = Math.min(await estimate(turn), quota);
      const at = now();
      const refused = await deps.guard(
        () => reserveDailyTokens(deps.userDb(turn.userId), { turnId: turn.turnId, userId: turn.userId, day: utcDay(at), tokens, quota }),
        'daily_budget_reserve',
      );
      if (refused) throw new DailyQuotaExceeded(quota, nextUtcMidnight(at));
    },

    /** For a turn that will not run (refused, a repeated key, failed before it began); a no-op otherwise. */
    async release(userId: string, turnId: string): Promise<void> {
      if (!applies) return;
      await deps.guard(() => releaseReservation(deps.userDb(userId), turnId), 'daily_budget_release');
    },

    async usage(userId: string): Promise<DailyTokensUsage | null> {
      if (deps.quota === null) return null;
      const at = now();
      const today = await deps.guard(() => dailyTokens(deps.userDb(userId), userId, utcDay(at)), 'daily_budget_usage');
      return { limit: deps.quota, used: today?.used ?? 0, reserved: today?.reserved ?? 0, resets_at: nextUtcMidnight(at).toISOString() };
    },
  };
}

export type DailyBudget = ReturnType<typeof dailyBudget>;
