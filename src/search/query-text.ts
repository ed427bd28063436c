/**
 * What a user's own words carry besides their request: URLs, file paths and email addresses. Most of their
 * parts ("staging", "myshop", "etc", "nginx", "index") are words of the data, not of the task, and match
 * tool words by accident ("staging" → git_diff_staged). Each is replaced by the kind of thing it is, which
 * is what tool descriptions speak of ("url", "file path", "email"), keeping the parts that do say what
 * the task is about: a URL's site name ("github" in github.com/…) and a file's extension ("docx", "pdf").
 */
const URL_RE = /\b(?:[a-z][a-z0-9+.-]*:\/\/|www\.)[^\s"'<>()]+/giu;
const EMAIL_RE = /\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b/gu;
/** ~/x, ./x, ../x, /x/y, C:\x, or a relative a/b/c with at least two slashes; a letter somewhere (not a date) */
const PATH_RE =
  /(?:^|(?<=[\s"'`(=:]))(?:~|\.{1,2})?(?:\/[^\s"'`()<>,;]+)+|(?:^|(?<=[\s"'`(]))[A-Za-z]:\\[^\s"'`]+|(?:^|(?<=[\s"'`(]))[\w.-]+(?:\/[\w.-]+){2,}/gu;
const EXTENSION_RE = /\.([A-Za-z][A-Za-z0-9]{1,4})$/u;

function siteName(url: string): string {
  const host = url.replace(/^[a-z][a-z0-9+.-]*:\/\//iu, '').split(/[/?#:]/u)[0] ?? '';
  const labels = host.split('.').filter((l) => l !== '' && l.toLowerCase() !== 'www');
  // example.com → example; docs.python.org → python; a bare host keeps its only name
  return labels.length >= 2 ? labels[labels.length - 2]! : (labels[0] ?? '');
}

function fileKind(path: string): string {
  const ext = EXTENSION_RE.exec(path.replace(/[/\\]+$/u, ''));
  return ext ? ` file path ${ext[1]} ` : ' file path ';
}

export function typeEntities(query: string): string {
  if (!/[/:@\\]|www\./u.test(query)) return query;
  return query
    .replace(URL_RE, (url) => ` url ${siteName(url)} `)
    .replace(EMAIL_RE, ' email ')
    .replace(PATH_RE, (path) => (/\p{L}/u.test(path) ? fileKind(path) : path));
}
