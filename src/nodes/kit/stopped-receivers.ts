// Messages a node passes on while its flow is being stopped. Node-RED takes routing down whole
// before any node's close ends (runtime Flow.stop), so what a node commits and sends during its
// close never reaches the nodes wired after it: a node that flushes on close says so.
import type { Node, NodeAPI } from 'node-red';

/** The ids of the nodes wired to the first output that are no longer running. */
export function stoppedReceivers(RED: NodeAPI, node: Node): string[] {
  return (node as Node & { wires?: string[][] }).wires?.[0]?.filter((id) => !RED.nodes.getNode(id)) ?? [];
}

/** Warns when `rows` were committed during the close and their messages went to stopped nodes. */
export function warnCommittedWhileClosing(RED: NodeAPI, node: Node, rows: number): void {
  const unrouted = rows > 0 ? stoppedReceivers(RED, node) : [];
  if (!unrouted.length) return;
  node.warn(
    `${node.type}: ${rows} rows committed while closing; their messages were passed on, but the nodes wired after ` +
      `${node.type} (${unrouted.join(', ')}) had already stopped, and Node-RED does not deliver to stopped nodes. The rows are in the table.`,
  );
}
