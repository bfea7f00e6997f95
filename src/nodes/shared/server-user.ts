// The user side of a gpss-server config node: find it, register, mirror its connection state in
// this node's status, and deregister on close (after the node's own flush).
import type { EventEmitter } from 'node:events';
import type { Node, NodeAPI, NodeStatus } from 'node-red';
import type { GpssServerConfigNode } from './types';
import { ThrottledStatus } from './status';
import { oneLine, probeTexts, watchProbes } from './probe';
import { translator } from './i18n';

export interface ServerUse {
  server: GpssServerConfigNode | null;
  status: ThrottledStatus;
  /** Status for a connection state; connection states use Node-RED's common i18n ids. */
  stateStatus(state: string, detail?: string): NodeStatus;
  release(): Promise<void>;
}

export function shortError(text: string, max = 40): string {
  const t = text.replace(/^Error:\s*/, '').replace(/\s+/g, ' ');
  return t.length > max ? t.slice(0, max - 1) + '…' : t;
}

/**
 * A user's status: the server's deploy-time probe shows until this node sets a status of its
 * own (its first message); connection state changes keep showing as before.
 */
class UserStatus extends ThrottledStatus {
  probes: { stop(): void } | null = null;

  override set(s: NodeStatus): void {
    this.probes?.stop();
    this.probes = null;
    super.set(s);
  }

  /** A status that does not end the probe display (connection state, probe result). */
  show(s: NodeStatus): void {
    super.set(s);
  }

  override dispose(): void {
    this.probes?.stop();
    this.probes = null;
    super.dispose();
  }
}

export function useServer(RED: NodeAPI, node: Node, serverId: string | undefined): ServerUse {
  const status = new UserStatus(node);
  const server = (serverId ? RED.nodes.getNode(serverId) : null) as GpssServerConfigNode | null;
  const stateStatus = (state: string, detail?: string): NodeStatus => {
    switch (state) {
      case 'connecting':
        return { fill: 'yellow', shape: 'ring', text: 'node-red:common.status.connecting' };
      case 'connected':
        return { fill: 'green', shape: 'dot', text: 'node-red:common.status.connected' };
      case 'error':
        return { fill: 'red', shape: 'ring', text: detail ? shortError(detail) : 'node-red:common.status.error' };
      default:
        return { fill: 'red', shape: 'ring', text: 'node-red:common.status.disconnected' };
    }
  };
  let listener: ((state: string, detail?: string) => void) | null = null;
  if (!server || !server.service) {
    status.set({ fill: 'red', shape: 'ring', text: translator(RED, node.type)('status.noServer') });
  } else {
    server.register(node);
    const texts = probeTexts(RED, node.type);
    listener = (state: string, detail?: string) => {
      // Before the node's first message the only connection attempts are the probe's and the
      // deploy-time describe of a fixed stream table (gpss-write): a failure of the latter is the
      // same news as a failed probe, so it reads the same ("unreachable: reason").
      if (state === 'error' && status.probes) status.show({ fill: 'red', shape: 'ring', text: texts.unreachable(oneLine(detail ?? '', 40)) });
      else status.show(stateStatus(state, detail));
    };
    (server as unknown as EventEmitter).on('state', listener);
    status.probes = watchProbes([server], texts, (s) => status.show(s as NodeStatus));
  }
  return {
    server: server && server.service ? server : null,
    status,
    stateStatus,
    async release() {
      status.dispose();
      if (server && listener) (server as unknown as EventEmitter).removeListener('state', listener);
      if (server && server.service) await server.deregister(node);
    },
  };
}
