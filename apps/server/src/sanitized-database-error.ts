/**
 * What may be logged of an error that involves a database query, or undefined for any other error. A failed
 * Drizzle query (`DrizzleQueryError`) ends its message, and so its stack, with the statement's parameters,
 * which are users' messages and ids; the drivers attach them to their own errors too (PGlite as `params`,
 * postgres.js as `parameters`), and Postgres may quote one in its message (`invalid input syntax for type
 * integer: "…"`). So each error in the cause chain is reduced to its type, its message without the
 * parameters, and the fields that name things rather than hold values (SQLSTATE code, table, column,
 * constraint…), plus the outer error's stack frames. `detail`, which holds row values, is left out.
 */
export function sanitizedDatabaseError(error: unknown): LoggedError | undefined {
  const chain = causeChain(error);
  if (!chain.some(isQueryError)) return undefined;
  const params = chain.flatMap(parametersOf).filter((value): value is string => typeof value === 'string' && value !== '');
  // Longest first, so a value containing another is withheld whole.
  params.sort((a, b) => b.length - a.length);
  const links = chain.map((link) => describeLink(link, params));
  links.reduce((outer, inner) => ((outer.cause = inner), inner));
  const [outermost] = links;
  return outermost ? { ...outermost, stack: stackFrames(error) ?? '' } : undefined;
}

/** The shape of pino's serialized errors, so log consumers read both alike. */
export interface LoggedError extends LoggedErrorLink {
  stack: string;
}

interface LoggedErrorLink {
  type: string;
  message: string;
  cause?: LoggedErrorLink;
  [identifyingField: string]: unknown;
}

/** Drizzle's format: `Failed query: <statement>\nparams: <values>`. */
const PARAMS_LINE = '\nparams: ';
/** Fields of Postgres errors that hold codes and names, never values: PGlite's spelling, then postgres.js's. */
const IDENTIFYING_FIELDS = [
  'code',
  'severity',
  'routine',
  'schema',
  'table',
  'column',
  'dataType',
  'constraint',
  'schema_name',
  'table_name',
  'column_name',
  'data_type_name',
  'constraint_name',
] as const;
const MAX_CAUSES = 8;

function causeChain(error: unknown): object[] {
  const chain: object[] = [];
  let link = error;
  while (typeof link === 'object' && link !== null && chain.length < MAX_CAUSES && !chain.includes(link)) {
    chain.push(link);
    link = (link as { cause?: unknown }).cause;
  }
  return chain;
}

function isQueryError(link: object): boolean {
  return 'params' in link || 'parameters' in link || messageOf(link)?.includes(PARAMS_LINE) === true;
}

function parametersOf(link: object): unknown[] {
  const { params, parameters } = link as { params?: unknown; parameters?: unknown };
  return [params, parameters].flatMap((list) => (Array.isArray(list) ? (list as unknown[]) : []));
}

function messageOf(link: object): string | undefined {
  const { message } = link as { message?: unknown };
  return typeof message === 'string' ? message : undefined;
}

function describeLink(link: object, params: string[]): LoggedErrorLink {
  const fields = link as Record<string, unknown>;
  const described: LoggedErrorLink = {
    type: typeof fields.name === 'string' && fields.name !== 'Error' ? fields.name : link.constructor.name,
    message: withoutParameters(messageOf(link) ?? '', params),
  };
  for (const field of IDENTIFYING_FIELDS) {
    const value = fields[field];
    if (typeof value === 'string' || typeof value === 'number') described[field] = value;
  }
  return described;
}

function withoutParameters(message: string, params: string[]): string {
  const paramsAt = message.indexOf(PARAMS_LINE);
  if (paramsAt >= 0) return message.slice(0, paramsAt);
  // Postgres quotes a value it echoes (`invalid input syntax for type integer: "…"`); matching the quotes
  // too leaves alone identifiers and words that merely contain a short value such as 'f' or 'user'.
  return params.reduce((text, value) => text.replaceAll(`"${value}"`, '"[param]"'), message);
}

/** The `at …` lines after the message: a stack starts with the message, parameters and all. */
function stackFrames(error: unknown): string | undefined {
  const { stack, message } = error as { stack?: unknown; message?: unknown };
  if (typeof stack !== 'string' || typeof message !== 'string') return undefined;
  const messageAt = stack.indexOf(message);
  if (messageAt < 0) return undefined;
  const frames = stack
    .slice(messageAt + message.length)
    .split('\n')
    .filter((line) => /^\s+at /.test(line));
  return frames.length > 0 ? frames.join('\n') : undefined;
}
