// Facts about other processes, for the owners of child processes and pid files (the embedded
// Postgres, the dev chain, `settle start` watching the process that started it).

/** True while a process with this pid exists (EPERM: it exists but belongs to another user). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
