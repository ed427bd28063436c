import { watch } from 'chokidar';

/**
 * Calls `onChange` once a burst of file events has settled (editors write in several steps).
 * Watches files and folders (recursively); a folder that does not exist yet is picked up when created.
 */
export function watchPaths(paths: string[], onChange: () => void, debounceMs = 500): { close(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  const watcher = watch(paths, { ignoreInitial: true, atomic: true });
  watcher.on('all', () => {
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  });
  return {
    close: async () => {
      clearTimeout(timer);
      await watcher.close();
    },
  };
}
