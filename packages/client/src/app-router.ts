import type { AppRouter as ServerRouter } from '@fixthread/server/router';
import type {
  AnyProcedure,
  TRPCBuiltRouter,
  TRPCMutationProcedure,
  TRPCQueryProcedure,
  TRPCSubscriptionProcedure,
} from '@trpc/server';

/**
 * A union rebuilt member by member loses its alias, so declaration emit writes `'user' | 'assistant'` where
 * it would otherwise write `import("@fixthread/core").Role`, a module no installed client can resolve.
 */
type Unaliased<T> = (T extends unknown ? { value: T } : never)['value'];

/**
 * A wire type written out in full: the server's and core's names for it stay in the workspace. Keys are
 * remapped (to themselves) because properties of a plain homomorphic mapped type keep their declarations,
 * and emit would copy a declaration's `AttachmentContentType` annotation rather than write out its members.
 * Binary inputs (an upload's FormData) are the runtime's own types, which every client has: they stay as
 * they are, since a copy of their members would no longer be the class tRPC's links recognise.
 */
type Plain<T> = T extends (...args: never[]) => unknown
  ? T
  : T extends FormData | Blob | Uint8Array
    ? T
    : T extends readonly unknown[]
      ? { [I in keyof T]: Unaliased<Plain<T[I]>> }
      : T extends object
        ? { [K in keyof T as K extends number ? `${K}` : K]: Unaliased<Plain<T[K]>> }
        : T;

/** A subscription's output stays an AsyncIterable, which is what tRPC's client infers `onData` from. */
type Output<T> = T extends AsyncIterable<infer Yield, infer Return, infer Next> ? AsyncIterable<Plain<Yield>, Return, Next> : Plain<T>;

/** Inputs and outputs are written inline, not through an alias of their own, which emit would keep by name. */
type ClientProcedure<P> = P extends { _def: { type: infer Type; $types: { input: infer Input; output: infer Out } } }
  ? Type extends 'query'
    ? TRPCQueryProcedure<{ input: Plain<Input>; output: Output<Out>; meta: object }>
    : Type extends 'mutation'
      ? TRPCMutationProcedure<{ input: Plain<Input>; output: Output<Out>; meta: object }>
      : TRPCSubscriptionProcedure<{ input: Plain<Input>; output: Output<Out>; meta: object }>
  : never;

type ClientRecord<T> = T extends AnyProcedure ? ClientProcedure<T> : { [K in keyof T]: ClientRecord<T[K]> };

/**
 * The server's router minus its context (engine, store, database driver), which only the server uses.
 * Declaration emit keeps an alias by name but writes out an inferred type in full, and it can't reuse this
 * return type's text because that names `R`: so the public type is taken from the value `router`. Nothing
 * imports it at run time (the JavaScript bundle leaves this file out).
 */
function clientRouter<R extends ServerRouter>() {
  type Root = R['_def']['_config']['$types'];
  type Record = R['_def']['record'];
  return null as unknown as TRPCBuiltRouter<
    { ctx: object; meta: Plain<Root['meta']>; errorShape: Plain<Root['errorShape']>; transformer: Root['transformer'] },
    { [K in keyof Record]: ClientRecord<Record[K]> }
  >;
}

// eslint-disable-next-line @typescript-eslint/no-unused-vars -- read only by the `typeof` below, which is the point
const router = clientRouter<ServerRouter>();

/** The FixThread API's tRPC router type: `createTRPCClient<AppRouter>`, `inferRouterOutputs<AppRouter>`. */
export type AppRouter = typeof router;
