import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from './app-router.js';

/** Each procedure's input: `RouterInputs['chat']['stream']`. */
export type RouterInputs = inferRouterInputs<AppRouter>;

/** Each procedure's output: `RouterOutputs['chat']['history']`; a subscription's is the AsyncIterable it yields. */
export type RouterOutputs = inferRouterOutputs<AppRouter>;

type Yielded<T> = T extends AsyncIterable<infer Item> ? Item : never;

/** One event of a streamed turn (`chat.stream`, `chat.regenerate`, `chat.edit`): `status`s and `token`s, then `done`. */
export type TurnEvent = Yielded<RouterOutputs['chat']['stream']>['data'];
