import { SpanStatusCode, trace, type Span, type SpanOptions } from '@opentelemetry/api';

/**
 * Runs `work` as the active span, so what it starts nests under it. Without an OpenTelemetry SDK installed
 * (the server installs one only when tracing is configured) the span is a no-op and this costs next to nothing.
 * A throw marks the span failed unless `isFailure` says the error is an expected ending (a stopped turn).
 */
export function inSpan<T>(
  name: string,
  options: SpanOptions,
  work: (span: Span) => Promise<T>,
  isFailure: (error: unknown) => boolean = () => true,
): Promise<T> {
  // Looked up per span, never kept: a tracer caches the first real provider it finds, and a process may
  // install its provider after this module loaded, or install a new one after the last shut down (tests).
  return trace.getTracer('fixthread').startActiveSpan(name, options, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      if (isFailure(error)) markFailed(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

function markFailed(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  span.setAttribute('error.type', error instanceof Error ? error.name : 'unknown');
}
