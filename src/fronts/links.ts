/** How many URIs seen in results are remembered (oldest forgotten first). */
const MAX_SEEN = 10_000;

/**
 * URIs that backends returned inside results (`resource_link` items and embedded resources) → the
 * backend that returned them, so a client can resources/read a link that no resources/list shows. One
 * per gateway, bounded; whether a reader may see that backend is still decided by its view.
 */
export class SeenUris {
  private readonly owners = new Map<string, string>();

  /** Remember every link and embedded resource in a result's content (tools/call) or messages (prompts/get). */
  record(server: string, result: unknown): void {
    const record = result as { content?: unknown; messages?: Array<{ content?: unknown }> } | undefined;
    const blocks = [
      ...asArray(record?.content),
      ...asArray(record?.messages).flatMap((m) => asArray((m as { content?: unknown }).content)),
    ];
    for (const block of blocks) {
      const item = block as { type?: string; uri?: unknown; resource?: { uri?: unknown } };
      const uri = item.type === 'resource_link' ? item.uri : item.type === 'resource' ? item.resource?.uri : undefined;
      if (typeof uri !== 'string') continue;
      this.owners.delete(uri);
      this.owners.set(uri, server);
      if (this.owners.size > MAX_SEEN) this.owners.delete(this.owners.keys().next().value as string);
    }
  }

  ownerOf(uri: string): string | undefined {
    return this.owners.get(uri);
  }
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === undefined ? [] : [value];
}
