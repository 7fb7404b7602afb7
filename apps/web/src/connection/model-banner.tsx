import { useQuery } from '@tanstack/react-query';
import { useTRPC } from '../trpc';
import './model-banner.css';

/**
 * Says, quietly, that answers come from iFixit guides because the server has no language model, and how to
 * connect one. The server's configuration only changes with a restart, so it is asked once per page.
 */
export function ModelBanner() {
  const trpc = useTRPC();
  const info = useQuery(trpc.server.info.queryOptions(undefined, { staleTime: Infinity, retry: false }));
  if (!info.data || info.data.model.configured) return null;
  return (
    <aside className="model-banner" aria-label="Offline mode">
      <span className="model-banner-mark" aria-hidden="true" />
      <p className="model-banner-text">No language model configured: answers come from iFixit guides</p>
      <details className="model-banner-help">
        <summary>How to connect one</summary>
        <p>
          Set <code>OPENAI_API_KEY</code> and restart the server. For Ollama, vLLM, llama.cpp server or LM Studio, also set{' '}
          <code>OPENAI_BASE_URL</code> (for example <code>http://localhost:11434/v1</code>) and <code>OPENAI_MODEL</code>{' '}
          (for example <code>llama3.1</code>). The README section “Connecting a language model” has the details.
        </p>
      </details>
    </aside>
  );
}
