// Group commit: jobs asked for in the same turn of the event loop (concurrent
// calls) run together in one call of `run` (one transaction), in the order
// they were asked, and none resolves before that call has returned. One job
// alone costs one extra loop turn.
export class GroupCommit<J, R> {
  private queue: Array<{ job: J; resolve: (r: R) => void; reject: (err: unknown) => void }> = [];
  private scheduled = false;

  /** `run` returns one result per job, in order; if it throws, every job of the group is rejected with that error. */
  constructor(private readonly run: (jobs: readonly J[]) => R[]) {}

  ask(job: J): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Run the jobs asked for since the last group, now (also on close: asked-for jobs are decided, not dropped). */
  flush(): void {
    this.scheduled = false;
    const group = this.queue;
    this.queue = [];
    if (group.length === 0) return;
    let results: R[];
    try {
      results = this.run(group.map((q) => q.job));
    } catch (err) {
      for (const q of group) q.reject(err);
      return;
    }
    for (let i = 0; i < group.length; i++) group[i]!.resolve(results[i]!);
  }
}
