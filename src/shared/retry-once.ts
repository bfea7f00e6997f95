// A value fetched once and then shared (a table's columns, asked of the database), where a
// failed fetch is not kept: the next caller tries again (the database may be back).

export class FetchOnce<T> {
  private pending: Promise<T> | null = null;
  constructor(private readonly fetch: () => Promise<T>) {}

  get(): Promise<T> {
    if (!this.pending) {
      const p = this.fetch();
      this.pending = p;
      p.catch(() => {
        if (this.pending === p) this.pending = null;
      });
    }
    return this.pending;
  }
}
