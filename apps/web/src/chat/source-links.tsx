import type { Source } from '../api-types';
import './source-links.css';

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

/** What an iFixit guide is for and what it takes, where the tool reported it: `iPhone 12 (Screen)`, `Moderate`, `1 - 2 hours`. */
function guideFacts(source: Source): { label: string; value: string }[] {
  const device = source.device && source.subject ? `${source.device} (${source.subject})` : (source.device ?? source.subject);
  return [
    device ? { label: 'Device', value: device } : undefined,
    source.difficulty ? { label: 'Difficulty', value: source.difficulty } : undefined,
    source.time_required ? { label: 'Time', value: source.time_required } : undefined,
  ].filter((fact) => fact !== undefined);
}

export function SourceLinks({ sources }: { sources: Source[] }) {
  if (sources.length === 0) return null;
  return (
    <nav className="sources" aria-label="Sources">
      <h3 className="sources-title">Sources</h3>
      <ul>
        {uniqueByUrl(sources).map((source) => {
          const facts = guideFacts(source);
          return (
            <li key={source.url}>
              <a className={`source source-${source.kind}`} href={source.url} target="_blank" rel="noopener noreferrer">
                <span className="source-kind">{source.kind === 'ifixit' ? 'iFixit' : 'Web'}</span>
                <span className="source-title">{source.title}</span>
                <span className="source-details">
                  {facts.map((fact) => (
                    <span key={fact.label} className="source-fact" data-fact={fact.label.toLowerCase()}>
                      <span className="visually-hidden">{fact.label}: </span>
                      {fact.value}
                    </span>
                  ))}
                  <span className="source-host">{hostOf(source.url)}</span>
                </span>
              </a>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
