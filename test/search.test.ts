import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { evalSearch, loadDatasets, loadPoolDatasets, sharedDir } from '../bench/eval-search.js';
import { presentHit, trimDescription } from '../src/search/present.js';
import { fusionWeight, LexicalScorer, type RankConfig, rank, type Scorer, type ToolDoc, ToolIndex, toolDoc } from '../src/search/rank.js';
import { SEMANTIC_FUSION } from '../src/search/semantic/setup.js';
import { fuse } from '../src/search/scorer.js';
import { saysDeprecated, type ToolDefinition } from '../src/search/tool-doc.js';
import { compactSchema } from '../src/search/schema-compact.js';
import { stem } from '../src/search/stem.js';
import { synonymsOf } from '../src/search/synonyms.js';
import { tokenize } from '../src/search/tokenize.js';
import { typeEntities } from '../src/search/query-text.js';

const fsTools: ToolDoc[] = [
  {
    server: 'filesystem',
    serverDescription: 'Local files',
    name: 'read_text_file',
    title: 'Read Text File',
    description: 'Read the complete contents of a file from the file system as text.',
    inputSchema: {
      type: 'object',
      properties: {
        path: { type: 'string' },
        head: { type: 'number', description: 'If provided, returns only the first N lines of the file' },
      },
    },
  },
  {
    server: 'filesystem',
    name: 'write_file',
    description: 'Create a new file or completely overwrite an existing file with new content.',
    inputSchema: { type: 'object', properties: { path: { type: 'string' }, content: { type: 'string' } } },
  },
  {
    server: 'filesystem',
    name: 'list_directory',
    description: 'Get a detailed listing of all files and directories in a specified path.',
  },
];

const ghTools: ToolDoc[] = [
  {
    server: 'github',
    name: 'create_issue',
    description: 'Create a new issue in a GitHub repository',
    inputSchema: { type: 'object', properties: { owner: {}, repo: {}, title: {}, body: {} } },
  },
  { server: 'github', name: 'search_repositories', description: 'Search for GitHub repositories' },
  { server: 'github', name: 'get_file_contents', description: 'Get the contents of a file or directory from a GitHub repository' },
];

const zhTools: ToolDoc[] = [
  { server: 'bing-cn-mcp', name: 'bing_search', description: '使用必应搜索指定的关键词，并返回搜索结果列表' },
  { server: 'bing-cn-mcp', name: 'fetch_webpage', description: '根据提供的ID获取对应网页的内容' },
];

const all = [...fsTools, ...ghTools, ...zhTools];

/** The real tools/list of @modelcontextprotocol/server-filesystem (read_file is deprecated there). */
const realFs: ToolDefinition[] = JSON.parse(
  readFileSync(new URL('./search-fixtures/filesystem-tools.json', import.meta.url), 'utf8'),
).tools;
const realFsDocs = realFs.map((t) => toolDoc({ name: 'filesystem' }, t));

describe('tokenize', () => {
  it('splits snake_case, kebab-case and dots', () => {
    expect(tokenize('read_text_file')).toEqual(['read', 'text', 'file']);
    expect(tokenize('get-weibo-trending')).toEqual(['get', 'weibo', 'trending']);
    expect(tokenize('fs.readFile')).toEqual(['fs', 'read', 'file']);
  });
  it('splits camelCase, PascalCase and acronyms', () => {
    expect(tokenize('readTextFile')).toEqual(['read', 'text', 'file']);
    expect(tokenize('HTMLParser')).toEqual(['html', 'parser']);
    expect(tokenize('getURLForID')).toEqual(['get', 'url', 'for', 'id']);
  });
  it('splits digits from letters', () => {
    expect(tokenize('base64Encode')).toEqual(['base', '64', 'encode']);
  });
  it('tokenizes Chinese text into bigrams', () => {
    const t = tokenize('必应搜索');
    expect(t).toContain('搜索');
    expect(t).toContain('必应');
    expect(tokenize('网页').length).toBeGreaterThan(0);
  });
  it('handles mixed Latin and Chinese, and full-width forms', () => {
    expect(tokenize('get微博热搜')).toEqual(['get', '微博', '博热', '热搜']);
    expect(tokenize('ＡＢＣ')).toEqual(['abc']);
  });
  it('handles empty and punctuation-only input', () => {
    expect(tokenize('')).toEqual([]);
    expect(tokenize('  --  ')).toEqual([]);
  });
});

describe('stem (Porter2)', () => {
  it('conflates inflections and derivations', () => {
    for (const [a, b] of [
      ['files', 'file'],
      ['renting', 'rent'],
      ['directories', 'directory'],
      ['searching', 'searches'],
      ['generate', 'generated'],
      ['activities', 'activity'],
    ])
      expect(stem(a!)).toBe(stem(b!));
  });
  it('matches the reference outputs', () => {
    expect(stem('running')).toBe('run');
    expect(stem('news')).toBe('news');
    expect(stem('generous')).toBe('generous');
    expect(stem('organization')).toBe('organ');
    expect(stem('skies')).toBe('sky');
    expect(stem('caresses')).toBe('caress');
    expect(stem('hopeful')).toBe('hope');
  });
  it('leaves short words, numbers and non-Latin words alone', () => {
    expect(stem('is')).toBe('is');
    expect(stem('64')).toBe('64');
    expect(stem('搜索')).toBe('搜索');
    expect(stem('café')).toBe('café');
  });
});

describe('synonyms', () => {
  it('come from a general English dictionary', () => {
    expect(synonymsOf('purchase') ?? []).toContain('buy');
    expect(synonymsOf('zzqxj')).toBeUndefined();
  });
});

describe('rank', () => {
  it('puts an exact tool name first', () => {
    const hits = rank('write_file', all);
    expect(hits[0]?.tool).toBe('write_file');
  });
  it('accepts server/tool as an exact name', () => {
    const hits = rank('github/get_file_contents', all);
    expect(hits[0]).toMatchObject({ server: 'github', tool: 'get_file_contents' });
    // The same name on two servers: the server part picks one; a name that itself holds "/" still matches.
    const twins = [
      { server: 'alpha', name: 'echo', description: 'Repeat text' },
      { server: 'beta', name: 'echo', description: 'Repeat text' },
      { server: 'alpha', name: 'files/read', description: 'Read a file' },
    ];
    expect(rank('Beta/Echo', twins)[0]).toMatchObject({ server: 'beta', tool: 'echo' });
    expect(rank('alpha/echo', twins)[0]).toMatchObject({ server: 'alpha', tool: 'echo' });
    expect(rank('files/read', twins)[0]).toMatchObject({ server: 'alpha', tool: 'files/read' });
    expect(rank('alpha/files/read', twins)[0]).toMatchObject({ server: 'alpha', tool: 'files/read' });
    // Here only the exact server/name match puts beta first: alpha's text mentions beta and echo text.
    const decoy = [
      { server: 'alpha', name: 'echo text', description: 'Echo text to beta: beta echo text' },
      { server: 'beta', name: 'echo text', description: 'Repeat a message' },
    ];
    expect(rank('beta/echo text', decoy)[0]).toMatchObject({ server: 'beta', tool: 'echo text' });
  });
  it('finds a tool from a natural-language query', () => {
    const hits = rank('open an issue on a github repo', all);
    expect(hits[0]?.tool).toBe('create_issue');
  });
  it('indexes parameter names', () => {
    const hits = rank('owner', all);
    expect(hits[0]?.tool).toBe('create_issue');
  });
  it('indexes parameter descriptions', () => {
    const hits = rank('first lines', all);
    expect(hits[0]?.tool).toBe('read_text_file');
  });
  it('matches camelCase queries against snake_case names', () => {
    const hits = rank('readTextFile', all);
    expect(hits[0]?.tool).toBe('read_text_file');
  });
  it('finds Chinese descriptions', () => {
    const hits = rank('网页内容', all);
    expect(hits[0]?.tool).toBe('fetch_webpage');
  });
  it('returns [] for no match, an empty query, stopwords only, or an empty index', () => {
    expect(rank('zzqxjv', all)).toEqual([]);
    expect(rank('', all)).toEqual([]);
    expect(rank('   ', all)).toEqual([]);
    expect(rank('the of and', all)).toEqual([]);
    expect(rank('read file', [])).toEqual([]);
    expect(new ToolIndex().search('anything')).toEqual([]);
  });
  it('matches word forms through stemming', () => {
    expect(rank('creating issues', all)[0]?.tool).toBe('create_issue');
    expect(rank('directories listing', all)[0]?.tool).toBe('list_directory');
  });
  it('tolerates a typo in a word no tool has', () => {
    expect(rank('serch repositories', all)[0]?.tool).toBe('search_repositories');
    expect(rank('overwite a file', all)[0]?.tool).toBe('write_file');
  });
  it('tolerates typos in short words too (one edit, same first letter)', () => {
    const docs = [...realFsDocs, ...ghTools];
    expect(rank('serch fils', docs)[0]).toMatchObject({ server: 'filesystem', tool: 'search_files' });
    expect(rank('mve file', docs)[0]?.tool).toBe('move_file');
    expect(rank('wrte file', docs)[0]?.tool).toBe('write_file');
    expect(rank('get fiel info', docs)[0]?.tool).toBe('get_file_info');
  });
  it('counts two swapped letters as one typo', () => {
    expect(rank('craete directory', realFsDocs)[0]?.tool).toBe('create_directory');
    expect(rank('lsit directory', realFsDocs)[0]?.tool).toBe('list_directory');
  });
  it('does not treat a short English word, or a wrong first letter, as a typo', () => {
    // "fine" (an English word) and "zile" are one edit from "file", and no tool here says either
    expect(rank('fine', realFsDocs)).toEqual([]);
    expect(rank('zile', realFsDocs)).toEqual([]);
    expect(rank('fils', realFsDocs)[0]?.tool).toMatch(/file/);
    const typoScorer = (config: Partial<RankConfig>) => {
      const index = new ToolIndex(config);
      index.replaceServer('filesystem', realFsDocs);
      return index;
    };
    expect(typoScorer({ isWord: null }).search('fine').length).toBeGreaterThan(0);
    expect(typoScorer({ fuzzyMin: 3 }).search('zile').length).toBeGreaterThan(0);
  });
  it('ranks the same words as a name first, in any case style', () => {
    expect(rank('read text file', all)[0]?.tool).toBe('read_text_file');
    expect(rank('ReadTextFile', all)[0]?.tool).toBe('read_text_file');
  });
  it('ranks tools whose name starts with an identifier-like query first', () => {
    const hits = rank('get_f', all);
    expect(hits[0]?.tool).toBe('get_file_contents');
    const slashed = rank('filesystem/list', all);
    expect(slashed[0]).toMatchObject({ server: 'filesystem', tool: 'list_directory' });
  });
  it('tries synonyms for a word no tool has', () => {
    const tools: ToolDoc[] = [
      { server: 'shop', name: 'buy_item', description: 'Buy an item from the store' },
      { server: 'shop', name: 'list_items', description: 'List the items in the store' },
    ];
    expect(rank('purchase something', tools)[0]?.tool).toBe('buy_item');
  });
  it('scores 1 for an exact name and less for partial matches', () => {
    expect(rank('write_file', all)[0]?.score).toBe(1);
    const partial = rank('write zzqxjv', all);
    expect(partial[0]?.tool).toBe('write_file');
    expect(partial[0]!.score).toBeLessThan(0.7);
    for (const h of rank('a file in the github repository', all)) {
      expect(h.score).toBeGreaterThan(0);
      expect(h.score).toBeLessThanOrEqual(1);
    }
  });
  it('filters by server', () => {
    const hits = rank('file', all, { server: 'github' });
    expect(hits.length).toBeGreaterThan(0);
    for (const h of hits) expect(h.server).toBe('github');
    expect(rank('write_file', all, { server: 'github' }).some((h) => h.tool === 'write_file')).toBe(false);
    expect(rank('file', all, { server: 'nope' })).toEqual([]);
  });
  it('respects limit and returns finite scores rounded to 3 decimals, best first', () => {
    const hits = rank('file', all, { limit: 2 });
    expect(hits.length).toBe(2);
    for (const h of hits) {
      expect(Number.isFinite(h.score)).toBe(true);
      expect(Math.round(h.score * 1000) / 1000).toBe(h.score);
    }
    expect(hits[0]!.score).toBeGreaterThanOrEqual(hits[1]!.score);
  });
  it('carries the full doc with its input schema', () => {
    const hits = rank('write_file', all);
    expect(hits[0]?.doc.inputSchema).toEqual(fsTools[1]!.inputSchema);
  });
});

describe('ToolIndex', () => {
  it("replaceServer removes the server's old docs and is idempotent", () => {
    const index = new ToolIndex();
    index.replaceServer('filesystem', fsTools);
    index.replaceServer('github', ghTools);
    expect(index.size).toBe(6);
    index.replaceServer('filesystem', fsTools);
    expect(index.size).toBe(6);
    index.replaceServer('filesystem', [{ server: 'filesystem', name: 'move_file', description: 'Move or rename files' }]);
    expect(index.size).toBe(4);
    expect(index.search('write_file').some((h) => h.tool === 'write_file')).toBe(false);
    expect(index.search('read text file').some((h) => h.server === 'filesystem' && h.tool === 'read_text_file')).toBe(false);
    expect(index.search('move')[0]?.tool).toBe('move_file');
  });
  it('removeServer drops everything from that server', () => {
    const index = new ToolIndex();
    index.replaceServer('filesystem', fsTools);
    index.replaceServer('github', ghTools);
    index.removeServer('github');
    expect(index.size).toBe(3);
    expect(index.search('github repository').every((h) => h.server !== 'github')).toBe(true);
    index.removeServer('nope');
    expect(index.size).toBe(3);
  });
  it('keeps exact-name matches right as same-named tools come and go', () => {
    const index = new ToolIndex();
    const echo = (server: string) => [{ server, name: 'echo', description: 'Repeat text' }];
    index.replaceServer('alpha', echo('alpha'));
    index.replaceServer('beta', echo('beta'));
    index.replaceServer('gamma', echo('gamma'));
    index.removeServer('beta');
    expect(
      index
        .search('echo')
        .map((h) => h.server)
        .sort(),
    ).toEqual(['alpha', 'gamma']);
    index.removeServer('alpha');
    expect(index.search('echo').map((h) => h.server)).toEqual(['gamma']);
    expect(index.search('gamma/echo')[0]).toMatchObject({ server: 'gamma', tool: 'echo' });
    index.removeServer('gamma');
    expect(index.search('echo')).toEqual([]);
    index.replaceServer('beta', echo('beta'));
    expect(index.search('beta/echo')[0]).toMatchObject({ server: 'beta', tool: 'echo' });
  });
  it('survives many replacements (lazy removal, compaction)', () => {
    const index = new ToolIndex();
    for (let i = 0; i < 300; i++) {
      index.replaceServer('filesystem', fsTools);
      index.replaceServer('github', i % 2 === 0 ? ghTools : []);
    }
    expect(index.size).toBe(3);
    expect(index.search('github repository')).toEqual([]);
    expect(index.search('write a new file')[0]?.tool).toBe('write_file');
  });
  it('matches rank() for the same tools', () => {
    const index = new ToolIndex();
    index.replaceServer('filesystem', fsTools);
    index.replaceServer('github', ghTools);
    index.replaceServer('bing-cn-mcp', zhTools);
    const q = 'read the contents of a file';
    expect(index.search(q).map((h) => `${h.server}/${h.tool}`)).toEqual(rank(q, all).map((h) => `${h.server}/${h.tool}`));
  });
});

describe("IDF per word over the tools' own text", () => {
  // "create" is in many descriptions but one name; per-field IDF made that name hit decisive.
  const tools: ToolDoc[] = [
    { server: 'qr', name: 'create_qr_code', description: 'Create a QR code for any text or url.' },
    {
      server: 'notes',
      name: 'NotesTool',
      description: 'A full-featured reminder and to-do list management tool where you can add, delete, list, and mark reminders.',
    },
    ...['chart', 'document', 'calendar event', 'image', 'playlist', 'invoice', 'poster', 'survey'].map((w, i) => ({
      server: `make${i}`,
      name: `Tool${i}`,
      description: `Create a ${w} from a template.`,
    })),
    ...['weather', 'stocks', 'news', 'recipes', 'flights', 'hotels', 'music', 'movies', 'sports', 'jobs'].map((w, i) => ({
      server: `look${i}`,
      name: `${w}Tool`,
      description: `Look up ${w}.`,
    })),
  ];
  it('ranks the tool with the telling word above one that has a common word in its name', () => {
    expect(rank('create reminder', tools)[0]?.tool).toBe('NotesTool');
  });
  it('keeps its counts right as servers are replaced and removed', () => {
    const index = new ToolIndex();
    for (let i = 0; i < 5; i++) for (const t of tools) index.replaceServer(t.server, [t]);
    index.replaceServer('extra', [{ server: 'extra', name: 'create_reminder_alias', description: 'Create a reminder.' }]);
    index.removeServer('extra');
    const q = 'create reminder';
    expect(index.search(q).map((h) => [h.tool, h.score])).toEqual(rank(q, tools).map((h) => [h.tool, h.score]));
  });
});

describe('words across the query', () => {
  const finance: ToolDoc[] = [
    { server: 'finance', name: 'get_cashflow', description: 'Annual statements of a company.' },
    { server: 'payments', name: 'cash_balance', description: 'Cash held in the account.' },
    { server: 'payments', name: 'flow_status', description: 'Status of a payment flow.' },
  ];
  it('a query writing apart what a name writes as one word ("cash flow" → cashflow) finds it first', () => {
    expect(rank('cash flow', finance)[0]?.tool).toBe('get_cashflow');
    expect(rank('company cash flow', finance)[0]?.tool).toBe('get_cashflow');
    // Without the join, "cash" only reaches it as a prefix, and the tools with one whole word come first.
    const apart = new ToolIndex({ joins: false });
    apart.replaceServer('finance', finance.slice(0, 1));
    apart.replaceServer('payments', finance.slice(1));
    expect(apart.search('cash flow')[0]?.tool).not.toBe('get_cashflow');
  });

  const games: ToolDoc[] = [
    { server: 'opgg', name: 'lol-champion-analysis', description: 'Win rate, pick rate and builds of a champion.' },
    { server: 'opgg', name: 'tft-champion-item-build', description: 'TFT tool for retrieving champion item build information.' },
    { server: 'maps', name: 'map_search', description: 'Search places on a map.' },
  ];
  it('the initials of query words that a name has as a word count ("league of legends" → lol)', () => {
    expect(rank('league of legends champion build', games)[0]?.tool).toBe('lol-champion-analysis');
    expect(rank('league of legends champion build', games.slice(1).concat(games[0]!))[0]?.tool).toBe('lol-champion-analysis');
    const without = new ToolIndex({ acronyms: false });
    without.replaceServer('opgg', games.slice(0, 2));
    expect(without.search('league of legends champion build')[0]?.tool).toBe('tft-champion-item-build');
  });
  it('initials are matched as the index holds them, stemmed ("amazon web services" → aws, indexed as "aw")', () => {
    const clouds: ToolDoc[] = [
      { server: 'other', name: 'list_buckets', description: 'List the storage buckets.' },
      { server: 'aws', name: 'list_buckets', description: 'List the storage buckets.' },
    ];
    expect(rank('amazon web services list storage buckets', clouds)[0]?.server).toBe('aws');
  });
  it('initials that spell an English word are not taken for a name ("make a photo" is not "map")', () => {
    expect(rank('make a photo', games)).toEqual([]);
  });
});

describe('URLs, paths and addresses in a query', () => {
  const tools: ToolDoc[] = [
    { server: 'git', name: 'git_diff_staged', description: 'Shows changes that are staged for commit.' },
    { server: 'browser', name: 'navigate', description: 'Open a URL in the browser.' },
    { server: 'word', name: 'get_document_text', description: 'Extract all text from a Word document (docx).' },
    { server: 'nginx', name: 'reload', description: 'Reload the web server.' },
  ];
  it('count as what they are, keeping the site name and the file extension', () => {
    expect(typeEntities('open https://staging.myshop.io/cart in a browser')).toBe('open  url myshop  in a browser');
    expect(typeEntities('read ~/work/report.docx and /etc/nginx/sites-enabled/')).toBe('read  file path docx  and  file path ');
    expect(typeEntities('mail bob@example.com the 2024/01/02 report')).toBe('mail  email  the 2024/01/02 report');
    expect(rank('open https://staging.myshop.io in a browser', tools)[0]?.tool).toBe('navigate');
    expect(rank('what does ~/notes/plan.docx say', tools)[0]?.tool).toBe('get_document_text');
    // As words, the URL's parts find the staged diff ("staging"); typed, they do not.
    const q = 'https://staging.myshop.io';
    const asWords = new ToolIndex({ entities: false });
    for (const t of tools) asWords.replaceServer(t.server, [t]);
    expect(asWords.search(q).map((h) => h.tool)).toContain('git_diff_staged');
    expect(rank(q, tools).map((h) => h.tool)).not.toContain('git_diff_staged');
  });
});

describe('word forms', () => {
  const arxiv: ToolDoc[] = [
    { server: 'arxiv', name: 'download_paper', description: 'Download a paper and create a resource for it.' },
    { server: 'arxiv', name: 'list_papers', description: 'List all existing papers available as resources.' },
  ];
  const museum: ToolDoc[] = [
    { server: 'met', name: 'search-museum-objects', description: 'Search the collection by keyword.' },
    { server: 'met', name: 'get-museum-object', description: 'Details of one item of the collection by its ID.' },
  ];
  it('breaks ties toward the name that writes the query word as the query does', () => {
    expect(rank('list downloaded arxiv papers', arxiv)[0]?.tool).toBe('list_papers');
    expect(rank('museum object', museum)[0]?.tool).toBe('get-museum-object');
    expect(rank('museum objects', museum)[0]?.tool).toBe('search-museum-objects');
    const off = new ToolIndex({ formAgreement: 0 });
    off.replaceServer('arxiv', arxiv);
    expect(off.search('list downloaded arxiv papers')[0]?.tool).toBe('download_paper');
  });
});

describe('scorer seam', () => {
  /** Scores tools whose name contains `word` 1, others nothing: stands in for a semantic scorer. */
  class NameContains implements Scorer {
    private readonly names = new Map<number, string>();
    constructor(private readonly word: string) {}
    add(id: number, doc: ToolDoc) {
      this.names.set(id, doc.name);
    }
    remove(id: number) {
      this.names.delete(id);
    }
    flush() {}
    score(_query: string, accept: ((id: number) => boolean) | undefined) {
      const ids = [...this.names].filter(([id, n]) => n.includes(this.word) && (!accept || accept(id))).map(([id]) => id);
      return { ids, get: (id: number) => (ids.includes(id) ? 1 : 0) };
    }
  }
  it('fuses scorers as a weighted mean, with a prior', () => {
    const a = { ids: [1, 2], get: (id: number) => (id === 1 ? 1 : id === 2 ? 0.5 : 0) };
    const b = { ids: [2, 3], get: (id: number) => (id === 2 ? 1 : id === 3 ? 0.2 : 0) };
    const f = fuse([
      { scores: a, weight: 3 },
      { scores: b, weight: 1 },
    ]);
    expect([...f.ids].sort()).toEqual([1, 2, 3]);
    expect(f.get(1)).toBeCloseTo(0.75);
    expect(f.get(2)).toBeCloseTo(0.625);
    expect(f.get(3)).toBeCloseTo(0.05);
    expect(f.get(4)).toBe(0);
    expect(fuse([{ scores: a, weight: 1 }])).toBe(a);
    expect(fuse([{ scores: a, weight: 1 }], (id) => (id === 1 ? 0.5 : 1)).get(1)).toBe(0.5);
  });
  it('ranks with the scorers given to ToolIndex, lexical by default', () => {
    const q = 'read the contents of a file';
    const lexicalOnly = new ToolIndex({}, [{ scorer: new LexicalScorer(), weight: 1 }]);
    const fused = new ToolIndex({}, [
      { scorer: new LexicalScorer(), weight: 1 },
      { scorer: new NameContains('issue'), weight: 1 },
    ]);
    for (const index of [lexicalOnly, fused]) {
      index.replaceServer('filesystem', fsTools);
      index.replaceServer('github', ghTools);
    }
    expect(lexicalOnly.search(q).map((h) => h.tool)).toEqual(rank(q, [...fsTools, ...ghTools]).map((h) => h.tool));
    expect(fused.search(q)[0]?.tool).toBe('create_issue');
    expect(fused.search(q, { filter: (_s, t) => t !== 'create_issue' }).some((h) => h.tool === 'create_issue')).toBe(false);
  });
  it('maps a backend tool definition to a ToolDoc', () => {
    const tool = {
      name: 'read_text_file',
      description: 'Read a file',
      inputSchema: { type: 'object' as const, properties: { path: { type: 'string' } } },
      annotations: { title: 'Read Text File', readOnlyHint: true },
    };
    expect(toolDoc({ name: 'filesystem', description: 'Local files' }, tool)).toEqual({
      server: 'filesystem',
      serverDescription: 'Local files',
      name: 'read_text_file',
      title: 'Read Text File',
      description: 'Read a file',
      inputSchema: tool.inputSchema,
    });
    expect(toolDoc({ name: 'x' }, { name: 't', title: 'Own title', annotations: { title: 'Other' } })).toEqual({
      server: 'x',
      name: 't',
      title: 'Own title',
    });
  });
});

describe('deprecated tools', () => {
  const order = (q: string, docs: ToolDoc[]) => rank(q, docs, { limit: 20 }).map((h) => h.tool);
  const queries = ['read file', 'read a file', 'read the contents of a file', 'read', 'read_', 'read file contents', 'ReadFile'];

  it('rank below their replacement, and still appear', () => {
    for (const q of queries) {
      const tools = order(q, realFsDocs);
      expect(tools, q).toContain('read_file');
      expect(tools.indexOf('read_text_file'), q).toBeLessThan(tools.indexOf('read_file'));
    }
  });
  it('would rank first without their notice (the notice is what demotes them)', () => {
    const unmarked = realFsDocs.map((d) =>
      d.name === 'read_file' ? { ...d, title: 'Read File', description: 'Read the complete contents of a file as text.' } : d,
    );
    for (const q of ['read file', 'read a file', 'read']) {
      const tools = order(q, unmarked);
      expect(tools.indexOf('read_file'), q).toBeLessThan(tools.indexOf('read_text_file'));
    }
  });
  it('still come first when asked for by their exact name', () => {
    expect(rank('read_file', realFsDocs)[0]).toMatchObject({ tool: 'read_file', score: 1 });
    expect(rank('filesystem/read_file', realFsDocs)[0]).toMatchObject({ tool: 'read_file', score: 1 });
  });
  it('are recognized by the notices servers write, not by any mention of the word', () => {
    for (const text of [
      'Read the complete contents of a file as text. DEPRECATED: Use read_text_file instead.',
      'Read File (Deprecated)',
      '[Deprecated] Lists files',
      'Deprecated. Use list_files.',
      '**Deprecated**: use v2',
      'Lists files. This tool is deprecated and will be removed.',
      'Search issues (deprecated in favor of search_issues_v2).',
      'Lists files. Deprecated, use list_files instead.',
    ]) {
      expect(saysDeprecated({ description: text }), text).toBe(true);
    }
    for (const text of [
      'Check if packages are deprecated',
      'List deprecated APIs used in a codebase',
      'Find deprecated dependencies and suggest upgrades',
      'Shows whether an npm package version has been deprecated by its author',
    ]) {
      expect(saysDeprecated({ description: text }), text).toBe(false);
    }
  });
  it('are also flagged by a boolean deprecated in annotations or _meta', () => {
    expect(toolDoc({ name: 's' }, { name: 't', annotations: { deprecated: true } }).deprecated).toBe(true);
    expect(toolDoc({ name: 's' }, { name: 't', _meta: { deprecated: true } }).deprecated).toBe(true);
    expect(toolDoc({ name: 's' }, { name: 't', annotations: { deprecated: 'yes' } }).deprecated).toBeUndefined();
    // read_file without its notice, flagged instead
    const flagged = realFsDocs.map((d) =>
      d.name === 'read_file'
        ? { ...d, title: 'Read File', description: 'Read the complete contents of a file as text.', deprecated: true }
        : d,
    );
    const tools = order('read a file', flagged);
    expect(tools).toContain('read_file');
    expect(tools.indexOf('read_text_file')).toBeLessThan(tools.indexOf('read_file'));
  });
});

describe('ToolIndex.search filter (per-caller views)', () => {
  const index = new ToolIndex();
  index.replaceServer('filesystem', fsTools);
  index.replaceServer('github', ghTools);
  const ids = (hits: { server: string; tool: string }[]) => hits.map((h) => `${h.server}/${h.tool}`);
  const noWrite = (_server: string, tool: string) => tool !== 'write_file';

  it('never returns a rejected tool, by words, exact name, server/name or name prefix', () => {
    expect(ids(index.search('create a new file or overwrite it'))).toContain('filesystem/write_file');
    for (const q of ['create a new file or overwrite it', 'write_file', 'filesystem/write_file', 'write_fi', 'write file']) {
      expect(ids(index.search(q, { filter: noWrite }))).not.toContain('filesystem/write_file');
    }
  });
  it('lets a rejected tool take no slot of the limit', () => {
    const q = 'create a new file or overwrite it';
    const unfiltered = ids(index.search(q, { limit: 10 }));
    expect(unfiltered[0]).toBe('filesystem/write_file');
    expect(unfiltered.length).toBeGreaterThan(2);
    expect(ids(index.search(q, { limit: 2, filter: noWrite }))).toEqual(unfiltered.slice(1, 3));
  });
  it('combines with server and asks about each tool at most once per search', () => {
    const asked: string[] = [];
    const hits = index.search('file contents repository', {
      server: 'github',
      filter: (server, tool) => {
        asked.push(`${server}/${tool}`);
        return tool !== 'get_file_contents';
      },
    });
    expect(ids(hits)).toContain('github/search_repositories');
    expect(ids(hits)).not.toContain('github/get_file_contents');
    expect(hits.every((h) => h.server === 'github')).toBe(true);
    expect(new Set(asked).size).toBe(asked.length);
    expect(asked.every((a) => a.startsWith('github/'))).toBe(true);
    expect(index.search('write_file', { filter: () => false })).toEqual([]);
  });
  it('leaves the index sound when the filter throws', () => {
    const q = 'read the contents of a file';
    const before = index.search(q);
    let tools = 0;
    index.search(q, { filter: () => ++tools > 0 });
    expect(tools).toBeGreaterThan(2);
    for (let n = 0; n < tools; n++) {
      // throw on the n-th tool asked about, so partial scores are left at different points
      let asked = 0;
      const filter = () => {
        if (asked++ === n) throw new Error('boom');
        return true;
      };
      expect(() => index.search(q, { filter })).toThrow('boom');
      expect(index.search(q)).toEqual(before);
    }
  });
});

describe('compactSchema', () => {
  // filesystem's edit_file input schema as server-filesystem 2025.x lists it
  const editFile = {
    type: 'object',
    properties: {
      path: { type: 'string' },
      edits: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            oldText: { type: 'string', description: 'Text to search for - must match exactly' },
            newText: { type: 'string', description: 'Text to replace with' },
          },
          required: ['oldText', 'newText'],
          additionalProperties: false,
        },
      },
      dryRun: { default: false, description: 'Preview changes using git-style diff format', type: 'boolean' },
    },
    required: ['path', 'edits'],
    $schema: 'http://json-schema.org/draft-07/schema#',
  };
  const deepFreeze = <T>(x: T): T => {
    if (x && typeof x === 'object') for (const v of Object.values(x)) deepFreeze(v);
    return Object.freeze(x);
  };

  it('drops $schema and $comment at every level and keeps everything a caller needs', () => {
    const input = deepFreeze(structuredClone(editFile));
    const out = compactSchema(input);
    const { $schema: _, ...rest } = editFile;
    expect(out).toEqual(rest);
    expect(input).toEqual(editFile); // not mutated (and frozen: a write would have thrown)
    const nested = compactSchema({
      $schema: 'x',
      $comment: 'why',
      anyOf: [
        { $comment: 'a', type: 'string', format: 'uri' },
        { $schema: 'y', type: 'null' },
      ],
      $defs: { p: { $comment: 'b', enum: ['a', 'b'] } },
    });
    expect(nested).toEqual({ anyOf: [{ type: 'string', format: 'uri' }, { type: 'null' }], $defs: { p: { enum: ['a', 'b'] } } });
  });
  it('keeps a property named $schema and data that looks like keywords', () => {
    const schema = {
      type: 'object',
      properties: { $schema: { type: 'string' }, $comment: { type: 'string' } },
      required: ['$schema'],
      default: { $schema: 'kept' },
      examples: [{ $comment: 'kept' }],
      additionalProperties: false,
    };
    expect(compactSchema(schema)).toEqual(schema);
  });
  it('keeps a "__proto__" property as a property', () => {
    const schema = JSON.parse('{"type":"object","properties":{"__proto__":{"type":"string","$schema":"x"}}}');
    const out = compactSchema(schema) as { properties: Record<string, unknown> };
    expect(Object.keys(out.properties)).toEqual(['__proto__']);
    expect(JSON.stringify(out)).toBe('{"type":"object","properties":{"__proto__":{"type":"string"}}}');
  });
  it('passes through what is not a schema object', () => {
    expect(compactSchema(true)).toBe(true);
    expect(compactSchema(undefined)).toBe(undefined);
  });
  it.skipIf(!existsSync(new URL('real-tools/', sharedDir())))("shrinks the real reference servers' schemas by their $schema only", () => {
    const dir = new URL('real-tools/', sharedDir());
    let before = 0;
    let after = 0;
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.json'))) {
      for (const t of JSON.parse(readFileSync(new URL(f, dir), 'utf8')).tools) {
        const a = JSON.stringify(t.inputSchema);
        const b = JSON.stringify(compactSchema(t.inputSchema));
        before += a.length;
        after += b.length;
        expect(b).toBe(a.replace(/,?"\$schema":"[^"]*"/g, '').replace('{,', '{'));
      }
    }
    expect(after).toBeLessThan(before);
  });
});

describe('present', () => {
  it('trims a description to its lead', () => {
    const long =
      'Read a file from disk. Handles many encodings.\n\nUSAGE NOTES: call this only when the path is known. ' +
      'Further paragraphs explain edge cases in detail.';
    expect(trimDescription(long)).toBe('Read a file from disk. Handles many encodings.');
    const sentences = 'First sentence is here. '.repeat(30);
    const t = trimDescription(sentences, 100);
    expect(t.length).toBeLessThanOrEqual(100);
    expect(t.endsWith('.')).toBe(true);
    const word = 'word '.repeat(100);
    expect(trimDescription(word, 50).length).toBeLessThanOrEqual(50);
    expect(trimDescription(undefined)).toBe('');
  });
  it('presents a hit with its input schema and call name', () => {
    const hit = rank('write_file', all)[0]!;
    const p = presentHit(hit);
    expect(p).toMatchObject({ name: 'filesystem/write_file', server: 'filesystem', tool: 'write_file', score: 1 });
    expect(p.inputSchema).toEqual(fsTools[1]!.inputSchema);
    expect(p.description).toContain('Create a new file');
  });
});

describe('eval harness (small subset)', () => {
  // The pool and both request sets are in the repository: this runs in every checkout.
  it('keeps the first hit on the 590-tool set as models search (a floor under the measured R@1 0.855, R@5 0.941)', () => {
    const set = loadPoolDatasets().find((d) => d.name === '590 real tools, hand-written');
    expect(set?.queries.filter((q) => q.model).length).toBe(256);
    const [result] = evalSearch([set!]);
    expect(result!.oursModel!.r1).toBeGreaterThanOrEqual(0.85);
    expect(result!.oursModel!.r5).toBeGreaterThanOrEqual(0.93);
    expect(result!.oursModel!.r1).toBeGreaterThan(result!.baselineModel!.r1);
  });

  it.skipIf(!existsSync(new URL('retrieval/', sharedDir())))('scores the gateway above plain MiniSearch', () => {
    const subset = loadDatasets()
      .filter((d) => d.name === 'real-tools (hand-written)' || d.name === 'MetaTool single')
      .map((d) => ({ ...d, queries: d.queries.slice(0, 150) }));
    const results = evalSearch(subset);
    expect(results).toHaveLength(2);
    for (const r of results) {
      for (const f of [r.baseline, r.ours]) {
        expect(f.n).toBeGreaterThan(0);
        for (const x of [f.r1, f.r5, f.r10, f.mrr, f.full10]) expect(x).toBeGreaterThanOrEqual(0);
        expect(f.r1).toBeLessThanOrEqual(f.r5);
        expect(f.r5).toBeLessThanOrEqual(f.r10);
      }
      expect(r.ours.r5).toBeGreaterThan(r.baseline.r5);
    }
  });
});

describe('semantic fusion weight by query length', () => {
  it("gives a short, tool-like query no semantic weight and a user's sentence some, counting CJK text by its characters", () => {
    expect(fusionWeight(SEMANTIC_FUSION, 'delete an entity')).toBe(0);
    expect(fusionWeight(SEMANTIC_FUSION, 'I want to delete an entity from the knowledge graph')).toBe(0.2);
    expect(fusionWeight(SEMANTIC_FUSION, '删除实体')).toBe(0);
    expect(fusionWeight(SEMANTIC_FUSION, '我想从知识图谱中删除关于某个人的所有实体和关系')).toBe(0.2);
  });
});
