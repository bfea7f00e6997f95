// A gpss node's use of its gpss-server config node (useConfigNodes): register, show the
// server's probe and then its connection state (the 'state' events of its GpssService) as this
// node's status, and deregister on close (after the node's own flush).
import type { EventEmitter } from 'node:events';
import type { Node, NodeAPI, NodeStatus } from 'node-red';
import type { GpssServerConfigNode } from './config-types';
import { useConfigNodes, type UserStatus } from './config-users';
import { probeTexts } from './probe';
import { translator } from './i18n';
import { failedSetup, oneLine } from './errors';

export interface ServerUse {
  server: GpssServerConfigNode | null;
  status: UserStatus;
  /** Status for a connection state; connection states use Node-RED's common i18n ids. */
  stateStatus(state: string, detail?: string): NodeStatus;
  release(): Promise<void>;
}

/** Status for a GPSS connection state (core nodes' convention and i18n ids). */
function stateStatus(state: string, detail?: string): NodeStatus {
  switch (state) {
    case 'connecting':
      return { fill: 'yellow', shape: 'ring', text: 'node-red:common.status.connecting' };
    case 'connected':
      return { fill: 'green', shape: 'dot', text: 'node-red:common.status.connected' };
    case 'error':
      return { fill: 'red', shape: 'ring', text: detail ? oneLine(detail, 40) : 'node-red:common.status.error' };
    default:
      return { fill: 'red', shape: 'ring', text: 'node-red:common.status.disconnected' };
  }
}

/** Logs a GPSS connection's state once per change, not per failed call (no log storms while down). */
export function stateChangeLog(log: { warn(text: string): void; log(text: string): void }, where: () => string): (state: string, detail?: string) => void {
  let logged = '';
  return (state, detail) => {
    if (state === logged) return;
    logged = state;
    if (state === 'error') log.warn(`GPSS ${where()}: ${detail ?? 'error'}`);
    else if (state !== 'connecting') log.log(`GPSS ${where()}: ${state}`);
  };
}

export function useServer(RED: NodeAPI, node: Node, serverId: string | undefined): ServerUse {
  const found = (serverId ? RED.nodes.getNode(serverId) : null) as GpssServerConfigNode | null;
  const server = found && found.service ? found : null;
  const texts = probeTexts(RED, node.type);
  const use = useConfigNodes(node, [server], texts);
  const status = use.status;
  let listener: ((state: string, detail?: string) => void) | null = null;
  if (!server) {
    status.set({ fill: 'red', shape: 'ring', text: translator(RED, node.type)('status.noServer') });
  } else {
    listener = (state: string, detail?: string) => {
      // Before the node's first message the only connection attempts are the probe's and the
      // deploy-time describe of a fixed stream table (gpss-write): a failure of the latter is the
      // same news as a failed probe, so it reads the same ("unreachable: reason").
      if (state === 'error' && status.probing) status.show({ fill: 'red', shape: 'ring', text: texts.unreachable(oneLine(detail ?? '', 40)) });
      else status.show(stateStatus(state, detail));
    };
    (server as unknown as EventEmitter).on('state', listener);
  }
  return {
    server,
    status,
    stateStatus,
    async release() {
      if (server && listener) (server as unknown as EventEmitter).removeListener('state', listener);
      await use.release();
    },
  };
}

/**
 * useServer() and the node's settings read from its dialog. Settings that cannot be read leave
 * the node failing every message with the error (failedSetup), the server released on close:
 * then null, and the node wires nothing else.
 */
export function useServerWith<S>(RED: NodeAPI, node: Node, serverId: string | undefined, read: (use: ServerUse) => S): { use: ServerUse; settings: S } | null {
  const use = useServer(RED, node, serverId);
  try {
    return { use, settings: read(use) };
  } catch (err) {
    node.on('close', (_removed: boolean, done: () => void) => void use.release().then(done, done));
    failedSetup(node, err, use.status);
    return null;
  }
}
