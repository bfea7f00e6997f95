// Config nodes and their users, Node-RED's MQTT pattern (core 10-mqtt.js): one config node owns
// the connection (pool, channel, sockets) and knows its users; the users show its state as
// their status; the config node closes only after its users finished their own close.
//
// Config side: hostUsers() makes a config node a host (register/deregister, and `users` keyed
// by node id, so that Node-RED routes the config node's error()/status() to the users' flows);
// closeAfterUsers() waits (bounded) for every user to deregister before releasing what they
// share (flow and config nodes close concurrently, node-red.md §4.5).
// User side: useConfigNodes() registers with the config nodes, shows their deploy-time probes
// as status until the node's own first status, and release() undoes it all on close.
import type { Node, NodeStatus } from 'node-red';
import { ThrottledStatus } from './status';
import { watchProbes, type ProbedConfig, type ProbeStatusTexts } from './probe';
import { errorText } from './errors';

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

/** What a config node with users offers them. */
export interface UsersHost {
  register(user: object): void;
  deregister(user: object): Promise<void>;
}

/** Makes `node` a host of users: `register`/`deregister` and Node-RED's `users` map. */
export function hostUsers(node: object): ConfigUsers {
  const users = new ConfigUsers();
  const host = node as UsersHost & { users: Record<string, object> };
  host.users = users.users;
  host.register = (user) => users.add(user);
  host.deregister = (user) => {
    users.remove(user);
    return Promise.resolve();
  };
  return users;
}

export interface CloseAfterUsersOptions {
  /** How long to wait for the users (then close anyway, with a warning). */
  timeoutMs: number;
  /** Releases what the users shared; runs once they are gone (or the wait timed out). */
  shutdown(): Promise<void> | void;
  /** Removes secrets from a text before it is logged. */
  redact?(text: string): string;
}

/**
 * The config node's close: its probe stops, then it waits for its users to deregister (they
 * flush concurrently), then `shutdown` runs; a failure there is a warning, and done() is
 * always called.
 */
export function closeAfterUsers(node: Node & ProbedConfig, users: ConfigUsers, options: CloseAfterUsersOptions): void {
  const redact = options.redact ?? ((t: string) => t);
  node.on('close', (_removed: boolean, done: () => void) => {
    node.probe?.close();
    void (async () => {
      try {
        const allGone = await users.whenEmpty(options.timeoutMs);
        if (!allGone) node.warn(`${node.type}: ${users.count} node(s) still busy after ${options.timeoutMs} ms; closing anyway`);
        await options.shutdown();
      } catch (err) {
        node.warn(redact(`${node.type} close: ${errorText(err)}`));
      } finally {
        done();
      }
    })();
  });
}

/**
 * A user's status: the config nodes' deploy-time probes show until this node sets a status of
 * its own (its first message); show() updates that do not end the probe display (connection
 * state changes) keep showing as before.
 */
export class UserStatus extends ThrottledStatus {
  probes: { stop(): void } | null = null;

  override set(s: NodeStatus): void {
    this.stopProbes();
    super.set(s);
  }

  override setNow(s: NodeStatus): void {
    this.stopProbes();
    super.setNow(s);
  }

  /** A status that does not end the probe display (connection state, probe result). */
  show(s: NodeStatus): void {
    super.set(s);
  }

  /** Whether the probes still show (the node has not shown a status of its own yet). */
  get probing(): boolean {
    return this.probes !== null;
  }

  override dispose(): void {
    this.stopProbes();
    super.dispose();
  }

  private stopProbes(): void {
    this.probes?.stop();
    this.probes = null;
  }
}

export interface ConfigUse {
  status: UserStatus;
  /** Disposes the status and deregisters from every config node (after the node's own flush). */
  release(): Promise<void>;
}

/**
 * Registers `node` with each config node it uses (missing ones are skipped: the caller says
 * what is missing) and shows their probes, with `texts`, until the node's first own status.
 */
export function useConfigNodes(node: Node, configs: readonly ((UsersHost & ProbedConfig) | null | undefined)[], texts: ProbeStatusTexts): ConfigUse {
  const status = new UserStatus(node);
  const present = configs.filter((c): c is UsersHost & ProbedConfig => !!c);
  for (const c of present) c.register(node);
  if (present.length) status.probes = watchProbes(present, texts, (s) => status.show(s as NodeStatus));
  let released = false;
  return {
    status,
    async release() {
      if (released) return;
      released = true;
      status.dispose();
      await Promise.allSettled(present.map((c) => c.deregister(node)));
    },
  };
}
