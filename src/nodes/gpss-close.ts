// gpss-close: commits (or, with msg.abort === true, aborts) the load job named by msg.gpss.job,
// optionally disconnects its session, and sends msg.payload = { successCount, errorCount, errorRows }.
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { findJob } from '../gpss/load-job';
import { intSetting } from './shared/target';
import { useServer, shortError } from './shared/server-user';
import { shortCount, ThrottledStatus } from './shared/status';

interface GpssCloseDef extends NodeDef {
  server?: string;
  maxErrorRows?: string | number;
  disconnect?: boolean | string;
}

type Msg = NodeMessageInFlow & { gpss?: { job?: unknown } & Record<string, unknown>; abort?: unknown };

export = function (RED: NodeAPI): void {
  function GpssCloseNode(this: Node, def: GpssCloseDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    // The server is optional here: the job id is enough; naming it keeps the channel open while we close.
    const use = def.server ? useServer(RED, node, def.server) : null;
    const maxErrorRows = intSetting(def.maxErrorRows, 0, -1, 1e6);
    const disconnect = def.disconnect === true || def.disconnect === 'true';
    const status = use ? use.status : new ThrottledStatus(node);
    let committedTotal = 0;

    node.on('input', (msg: Msg, send, done) => {
      try {
        const id = msg.gpss?.job;
        const job = findJob(id);
        if (!job) {
          throw new Error(
            `gpss-close: no open load job ${JSON.stringify(id ?? null)} (msg.gpss.job): it was already closed, aborted by a redeploy, or never opened by gpss-connect`,
          );
        }
        const abort = msg.abort === true;
        const target = job.target;
        job.close({ abort, maxErrorRows, disconnect }).then(
          (stats) => {
            msg.payload = { successCount: stats.successCount, errorCount: stats.errorCount, errorRows: stats.errorRows };
            if (!abort) committedTotal += stats.successCount;
            status.set({ fill: abort ? 'yellow' : 'green', shape: 'dot', text: abort ? `aborted ${target}` : `committed ${shortCount(committedTotal)}` });
            send(msg);
            done();
          },
          (err: unknown) => {
            const e = err instanceof Error ? err : new Error(String(err));
            status.set({ fill: 'red', shape: 'ring', text: shortError(e.message) });
            done(e);
          },
        );
      } catch (err) {
        done(err instanceof Error ? err : new Error(String(err)));
      }
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      if (use) use.release().then(done, done);
      else {
        status.dispose();
        done();
      }
    });
  }
  RED.nodes.registerType('gpss-close', GpssCloseNode as unknown as (this: Node, def: NodeDef) => void);
};
