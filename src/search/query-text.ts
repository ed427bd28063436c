/**
 * What a user's own words carry besides their request: URLs, file paths and email addresses. Most of their
 * parts ("staging", "myshop", "etc", "nginx", "index") are words of the data, not of the task, and match
 * tool words by accident ("staging" → git_diff_staged). Each is replaced by the kind of thing it is, which
 * is what tool descriptions speak of ("url", "file path", "email"), keeping the parts that do say what
 * the task is about: a URL's site name ("github" in github.com/…) and a file's extension ("docx", "pdf").
 *
 * Token by token (a whitespace-separated run, without the quotes, brackets and punctuation around it),
 * each test anchored, so the work stays linear in the query's length.
 */
const URL_START = /^(?:[a-z][a-z0-9+.-]*:\/\/|www\.)/i;
const EMAIL = /^[\w.+-]+@[\w-]+(?:\.[\w-]+)+$/u;
/** ~/x, ./x, ../x, /x, C:\x, or a relative a/b/c with at least two slashes */
const PATH = /^(?:~|\.{1,2})?\/\S|^[A-Za-z]:\\|^[^/\s]+\/[^/\s]+\/[^\s]/u;
const EXTENSION = /\.([A-Za-z][A-Za-z0-9]{1,4})$/u;
const OPENING = new Set(['(', '"', "'", '`', '<', '[', '{']);
const CLOSING = new Set([')', '"', "'", '`', '>', ']', '}', ',', ';', ':', '!', '?', '.']);

/** A token without the quotes, brackets and punctuation around it: [before, core, after] (index loops: linear). */
function unwrap(token: string): [string, string, string] {
  let start = 0;
  let end = token.length;
  while (start < end && OPENING.has(token[start]!)) start++;
  while (end > start && CLOSING.has(token[end - 1]!)) end--;
  return [token.slice(0, start), token.slice(start, end), token.slice(end)];
}

function siteName(url: string): string {
  const host = url.replace(/^[a-z][a-z0-9+.-]*:\/\//iu, '').split(/[/?#:]/u)[0] ?? '';
  const labels = host.split('.').filter((l) => l !== '' && l.toLowerCase() !== 'www');
  // example.com → example; docs.python.org → python; a bare host keeps its only name
  return labels.length >= 2 ? labels[labels.length - 2]! : (labels[0] ?? '');
}

function typed(token: string): string | undefined {
  if (URL_START.test(token)) return `url ${siteName(token)}`;
  if (token.includes('@') && EMAIL.test(token)) return 'email';
  // A path names letters somewhere (2024/01/02 is a date).
  if (PATH.test(token) && /\p{L}/u.test(token)) {
    const ext = EXTENSION.exec(token.replace(/[/\\]+$/u, ''));
    return ext ? `file path ${ext[1]}` : 'file path';
  }
  return undefined;
}

export function typeEntities(query: string): string {
  if (!/[/:@\\]|www\./u.test(query)) return query;
  return query
    .split(/(\s+)/u)
    .map((part) => {
      if (part === '' || /^\s/u.test(part)) return part;
      const [before, core, after] = unwrap(part);
      const kind = core ? typed(core) : undefined;
      return kind ? `${before} ${kind} ${after}` : part;
    })
    .join('');
}
