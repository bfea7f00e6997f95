// The users of a config node (Node-RED's MQTT pattern): keyed by node id so that Node-RED
// routes the config node's error()/status() to the users' flows, and awaited on close so the
// shared channel or pool outlives every user's final flush (flow and config nodes close
// concurrently, node-red.md §4.5).

export class ConfigUsers {
  readonly users: Record<string, object> = {};
  private waiters: (() => void)[] = [];
  private anon = 0;

  private keyOf(user: object): string {
    const id = (user as { id?: unknown }).id;
    if (typeof id === 'string' && id) return id;
    const k = (user as { __gpflowUserKey?: string }).__gpflowUserKey;
    if (k) return k;
    const key = `anon-${++this.anon}`;
    Object.defineProperty(user, '__gpflowUserKey', { value: key, enumerable: false });
    return key;
  }

  add(user: object): void {
    this.users[this.keyOf(user)] = user;
  }

  remove(user: object): void {
    delete this.users[this.keyOf(user)];
    if (this.count === 0) {
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    }
  }

  get count(): number {
    return Object.keys(this.users).length;
  }

  /** Resolves true when every user has deregistered, false after timeoutMs. */
  whenEmpty(timeoutMs: number): Promise<boolean> {
    if (this.count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(t);
        resolve(true);
      };
      this.waiters.push(done);
    });
  }
}
