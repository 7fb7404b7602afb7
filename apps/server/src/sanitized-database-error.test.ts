import { describe, expect, it } from 'vitest';
import { sanitizedDatabaseError } from './sanitized-database-error';

const SECRET = 'my password is hunter2\n    at line-that-looks-like-a-frame';

/** Shaped like drizzle 0.45's: the parameters go into the message, and so into the stack. */
class DrizzleQueryError extends Error {
  constructor(
    readonly query: string,
    readonly params: unknown[],
    cause: unknown,
  ) {
    super(`Failed query: ${query}\nparams: ${params.join(',')}`, { cause });
  }
}

/** Shaped like PGlite's: the Postgres fields, plus the query and its parameters. */
function pgliteError(message: string, params: unknown[]) {
  return Object.assign(new Error(message), {
    name: 'error',
    code: '22P02',
    severity: 'ERROR',
    detail: `Failing row contains (${SECRET}).`,
    table: 'conversations',
    query: 'insert …',
    params,
  });
}

/** Shaped like postgres.js's: snake_case fields, parameters kept off the enumerable properties. */
function postgresJsError(message: string, parameters: unknown[]) {
  const error = Object.assign(new Error(message), { name: 'PostgresError', code: '23514', constraint_name: 'no_replies' });
  Object.defineProperty(error, 'parameters', { value: parameters, enumerable: false });
  return error;
}

describe('sanitizedDatabaseError', () => {
  it('leaves errors that involve no query to the ordinary serializer', () => {
    expect(sanitizedDatabaseError(new TypeError('x is undefined'))).toBeUndefined();
    expect(sanitizedDatabaseError('a string')).toBeUndefined();
    expect(sanitizedDatabaseError(new Error('outer', { cause: new Error('PGlite is closed') }))).toBeUndefined();
  });

  it('keeps the statement, the codes and the frames of a failed Drizzle query, never its parameters', () => {
    const params = ['user-7f3a', SECRET, 'f'];
    const error = new DrizzleQueryError(
      'insert into "conversations" ("user_id", "content") values ($1, $2)',
      params,
      pgliteError(`invalid input syntax for type uuid: "user-7f3a" for "f" in "conversations"`, params),
    );
    const logged = sanitizedDatabaseError(error);
    expect(logged).toMatchObject({
      type: 'DrizzleQueryError',
      message: 'Failed query: insert into "conversations" ("user_id", "content") values ($1, $2)',
      cause: {
        type: 'error',
        message: 'invalid input syntax for type uuid: "[param]" for "[param]" in "conversations"',
        code: '22P02',
        severity: 'ERROR',
        table: 'conversations',
      },
    });
    expect(logged?.stack).toMatch(/^\s+at /);
    const text = JSON.stringify(logged);
    for (const secret of ['hunter2', 'user-7f3a', 'line-that-looks-like-a-frame', 'Failing row']) expect(text).not.toContain(secret);
  });

  it('withholds the parameters from a wrapper that repeats the query error’s message', () => {
    const inner = new DrizzleQueryError('select $1', [SECRET], new Error('PGlite is closed'));
    const wrapper = new Error(inner.message, { cause: inner });
    const logged = sanitizedDatabaseError(wrapper);
    expect(logged).toMatchObject({
      message: 'Failed query: select $1',
      cause: { type: 'DrizzleQueryError', message: 'Failed query: select $1', cause: { message: 'PGlite is closed' } },
    });
    expect(JSON.stringify(logged)).not.toContain('hunter2');
  });

  it('recognises a driver error by its non-enumerable parameters', () => {
    const logged = sanitizedDatabaseError(postgresJsError('value "hunter2" is out of range', ['hunter2']));
    expect(logged).toMatchObject({
      type: 'PostgresError',
      message: 'value "[param]" is out of range',
      code: '23514',
      constraint_name: 'no_replies',
    });
  });
});
