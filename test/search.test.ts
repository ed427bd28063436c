import { describe, expect, it } from "vitest";
import { rank, type ToolDoc, ToolIndex } from "../src/search/rank.js";
import { tokenize } from "../src/search/tokenize.js";

const fsTools: ToolDoc[] = [
  {
    server: "filesystem",
    serverDescription: "Local files",
    name: "read_text_file",
    title: "Read Text File",
    description: "Read the complete contents of a file from the file system as text.",
    inputSchema: {
      type: "object",
      properties: {
        path: { type: "string" },
        head: { type: "number", description: "If provided, returns only the first N lines of the file" },
      },
    },
  },
  {
    server: "filesystem",
    name: "write_file",
    description: "Create a new file or completely overwrite an existing file with new content.",
    inputSchema: { type: "object", properties: { path: { type: "string" }, content: { type: "string" } } },
  },
  {
    server: "filesystem",
    name: "list_directory",
    description: "Get a detailed listing of all files and directories in a specified path.",
  },
];

const ghTools: ToolDoc[] = [
  {
    server: "github",
    name: "create_issue",
    description: "Create a new issue in a GitHub repository",
    inputSchema: { type: "object", properties: { owner: {}, repo: {}, title: {}, body: {} } },
  },
  { server: "github", name: "search_repositories", description: "Search for GitHub repositories" },
  { server: "github", name: "get_file_contents", description: "Get the contents of a file or directory from a GitHub repository" },
];

const zhTools: ToolDoc[] = [
  { server: "bing-cn-mcp", name: "bing_search", description: "使用必应搜索指定的关键词，并返回搜索结果列表" },
  { server: "bing-cn-mcp", name: "fetch_webpage", description: "根据提供的ID获取对应网页的内容" },
];

const all = [...fsTools, ...ghTools, ...zhTools];

describe("tokenize", () => {
  it("splits snake_case, kebab-case and dots", () => {
    expect(tokenize("read_text_file")).toEqual(["read", "text", "file"]);
    expect(tokenize("get-weibo-trending")).toEqual(["get", "weibo", "trending"]);
    expect(tokenize("fs.readFile")).toEqual(["fs", "read", "file"]);
  });
  it("splits camelCase, PascalCase and acronyms", () => {
    expect(tokenize("readTextFile")).toEqual(["read", "text", "file"]);
    expect(tokenize("HTMLParser")).toEqual(["html", "parser"]);
    expect(tokenize("getURLForID")).toEqual(["get", "url", "for", "id"]);
  });
  it("splits digits from letters", () => {
    expect(tokenize("base64Encode")).toEqual(["base", "64", "encode"]);
  });
  it("tokenizes Chinese text into bigrams", () => {
    const t = tokenize("必应搜索");
    expect(t).toContain("搜索");
    expect(t).toContain("必应");
    expect(tokenize("网页").length).toBeGreaterThan(0);
  });
  it("handles empty and punctuation-only input", () => {
    expect(tokenize("")).toEqual([]);
    expect(tokenize("  --  ")).toEqual([]);
  });
});

describe("rank", () => {
  it("puts an exact tool name first", () => {
    const hits = rank("write_file", all);
    expect(hits[0]?.tool).toBe("write_file");
  });
  it("accepts server/tool as an exact name", () => {
    const hits = rank("github/get_file_contents", all);
    expect(hits[0]).toMatchObject({ server: "github", tool: "get_file_contents" });
  });
  it("finds a tool from a natural-language query", () => {
    const hits = rank("open an issue on a github repo", all);
    expect(hits[0]?.tool).toBe("create_issue");
  });
  it("indexes parameter names", () => {
    const hits = rank("owner", all);
    expect(hits[0]?.tool).toBe("create_issue");
  });
  it("indexes parameter descriptions", () => {
    const hits = rank("first lines", all);
    expect(hits[0]?.tool).toBe("read_text_file");
  });
  it("matches camelCase queries against snake_case names", () => {
    const hits = rank("readTextFile", all);
    expect(hits[0]?.tool).toBe("read_text_file");
  });
  it("finds Chinese descriptions", () => {
    const hits = rank("网页内容", all);
    expect(hits[0]?.tool).toBe("fetch_webpage");
  });
  it("returns [] for no match and for an empty query", () => {
    expect(rank("zzqxjv", all)).toEqual([]);
    expect(rank("", all)).toEqual([]);
    expect(rank("   ", all)).toEqual([]);
  });
  it("filters by server", () => {
    const hits = rank("file", all, { server: "github" });
    expect(hits.length).toBeGreaterThan(0);
    for (const h of hits) expect(h.server).toBe("github");
  });
  it("respects limit and returns finite scores rounded to 3 decimals, best first", () => {
    const hits = rank("file", all, { limit: 2 });
    expect(hits.length).toBe(2);
    for (const h of hits) {
      expect(Number.isFinite(h.score)).toBe(true);
      expect(Math.round(h.score * 1000) / 1000).toBe(h.score);
    }
    expect(hits[0]!.score).toBeGreaterThanOrEqual(hits[1]!.score);
  });
  it("carries the full doc with its input schema", () => {
    const hits = rank("write_file", all);
    expect(hits[0]?.doc.inputSchema).toEqual(fsTools[1]!.inputSchema);
  });
});

describe("ToolIndex", () => {
  it("replaceServer removes the server's old docs and is idempotent", () => {
    const index = new ToolIndex();
    index.replaceServer("filesystem", fsTools);
    index.replaceServer("github", ghTools);
    expect(index.size).toBe(6);
    index.replaceServer("filesystem", fsTools);
    expect(index.size).toBe(6);
    index.replaceServer("filesystem", [{ server: "filesystem", name: "move_file", description: "Move or rename files" }]);
    expect(index.size).toBe(4);
    expect(index.search("write_file").some((h) => h.tool === "write_file")).toBe(false);
    expect(index.search("read text file").some((h) => h.server === "filesystem" && h.tool === "read_text_file")).toBe(false);
    expect(index.search("move")[0]?.tool).toBe("move_file");
  });
  it("removeServer drops everything from that server", () => {
    const index = new ToolIndex();
    index.replaceServer("filesystem", fsTools);
    index.replaceServer("github", ghTools);
    index.removeServer("github");
    expect(index.size).toBe(3);
    expect(index.search("github repository").every((h) => h.server !== "github")).toBe(true);
    index.removeServer("nope");
    expect(index.size).toBe(3);
  });
  it("matches rank() for the same tools", () => {
    const index = new ToolIndex();
    index.replaceServer("filesystem", fsTools);
    index.replaceServer("github", ghTools);
    index.replaceServer("bing-cn-mcp", zhTools);
    const q = "read the contents of a file";
    expect(index.search(q).map((h) => `${h.server}/${h.tool}`)).toEqual(rank(q, all).map((h) => `${h.server}/${h.tool}`));
  });
});
