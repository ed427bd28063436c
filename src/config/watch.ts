import { watch } from 'chokidar';

export interface PathWatcher {
  /** Watch exactly these paths from now on (a reload may list other capability folders). */
  update(paths: string[]): void;
  close(): Promise<void>;
}

/**
 * Calls `onChange` once a burst of file events has settled (editors write in several steps).
 * Watches files and folders (recursively); a folder that does not exist yet is picked up when created.
 */
export function watchPaths(paths: string[], onChange: () => void, debounceMs = 500): PathWatcher {
  let timer: NodeJS.Timeout | undefined;
  let watched = new Set(paths);
  let closed = false;
  const watcher = watch(paths, { ignoreInitial: true, atomic: true });
  watcher.on('all', () => {
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  });
  return {
    update: (next) => {
      // After close, adding paths would start watching again (and keep the process alive).
      if (closed) return;
      const wanted = new Set(next);
      const added = [...wanted].filter((p) => !watched.has(p));
      const removed = [...watched].filter((p) => !wanted.has(p));
      if (added.length > 0) watcher.add(added);
      if (removed.length > 0) watcher.unwatch(removed);
      watched = wanted;
    },
    close: async () => {
      closed = true;
      clearTimeout(timer);
      await watcher.close();
    },
  };
}

/**
 * Hot reload for a gateway started from `configFile` with `server.watch`: the file and the capability folders
 * are watched, a change reloads, and after each applied reload the watcher follows the folders the config
 * then lists. Undefined when there is nothing to watch.
 */
export function watchConfig(
  configFile: string | undefined,
  gateway: {
    config(): { server: { watch: boolean }; capability_dirs: string[] };
    reload(): Promise<unknown>;
    events: { on(name: 'reload', listener: (e: { ok: boolean }) => void): () => void };
  },
  onError: (error: unknown) => void,
): PathWatcher | undefined {
  if (!configFile || !gateway.config().server.watch) return undefined;
  const paths = () => [configFile, ...gateway.config().capability_dirs];
  const watcher = watchPaths(paths(), () => void gateway.reload().catch(onError));
  gateway.events.on('reload', ({ ok }) => {
    if (ok) watcher.update(paths());
  });
  return watcher;
}
