import type { Source } from '../api-types';

function hostOf(url: string): string {
  try {
    return new URL(url).hostname.replace(/^www\./, '');
  } catch {
    return url;
  }
}

/** One link per URL: a search and a guide fetch often both report the same guide. */
function uniqueByUrl(sources: Source[]): Source[] {
  return [...new Map(sources.map((source) => [source.url, source])).values()];
}

export function SourceLinks({ sources }: { sources: Source[] }) {
  if (sources.length === 0) return null;
  return (
    <nav className="sources" aria-label="Sources">
      <h3 className="sources-title">Sources</h3>
      <ul>
        {uniqueByUrl(sources).map((source) => (
          <li key={source.url}>
            <a className={`source source-${source.kind}`} href={source.url} target="_blank" rel="noopener noreferrer">
              <span className="source-kind">{source.kind === 'ifixit' ? 'iFixit' : 'Web'}</span>
              <span className="source-title">{source.title}</span>
              <span className="source-host">{hostOf(source.url)}</span>
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}
