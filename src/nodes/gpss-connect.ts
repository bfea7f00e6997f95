// gpss-connect: opens a load job (Connect or reuse a session, DescribeTable once, Open with the
// mode and options of the dialog) and passes the message on with msg.gpss = { job, table, columns }.
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import * as kit from './kit';
import { DEFAULT_JOB_KEY_LIMIT, MAX_JOB_KEY_LIMIT, type JobLimits } from '../gpss';

interface GpssConnectDef extends NodeDef, kit.OverridableTargetDef {
  server: string;
  bufferRows?: string | number;
  bufferMb?: string | number;
  writeKb?: string | number;
  /** Merge/Update: match keys a job remembers to refuse a key written twice (key-index.ts). */
  keyLimit?: string | number;
}

type Msg = NodeMessageInFlow & { gpss?: Record<string, unknown> };

export = function (RED: NodeAPI): void {
  function GpssConnectNode(this: Node, def: GpssConnectDef): void {
    RED.nodes.createNode(this, def);
    const t = kit.translator(RED, 'gpss-connect');
    const node = this;
    const setup = kit.useServerWith(RED, node, def.server, (use): JobLimits => {
      const limits: JobLimits = {
        writeBytes: kit.writeBytesSetting(def.writeKb),
        buffer: kit.bufferSetting(def, 200000),
        keyLimit: kit.intSetting(def.keyLimit, DEFAULT_JOB_KEY_LIMIT, 0, MAX_JOB_KEY_LIMIT, 'key check'),
        keyCheckStopped: (text) => {
          node.warn(`gpss-connect: ${text}`);
          use.status.set({ fill: 'yellow', shape: 'dot', text: t('status.keyCheckStopped', { limit: kit.shortCount(limits.keyLimit ?? 0) }) });
        },
      };
      return limits;
    });
    if (!setup) return;
    const { use, settings: limits } = setup;
    node.on('close', (_removed: boolean, done: () => void) => {
      use.release().then(done, done);
    });
    const tableOptions = new kit.TargetOptions(RED, node, def);

    node.on('input', (msg: Msg, send, done) => {
      try {
        if (!use.server) throw new Error('gpss-connect: no gpss-server config node selected');
        const options = tableOptions.for(msg);
        use.status.set({ fill: 'yellow', shape: 'ring', text: 'node-red:common.status.connecting' });
        use.server.service.openJob(options, limits).then(
          (job) => {
            msg.gpss = { job: job.id, table: job.target, columns: job.columns.map((c) => c.name) };
            use.status.set({ fill: 'green', shape: 'dot', text: t('status.open', { target: job.target }) });
            send(msg);
            done();
          },
          (err: unknown) => {
            use.status.set(kit.errorStatus(err));
            done(kit.asError(err));
          },
        );
      } catch (err) {
        done(kit.asError(err));
      }
    });
  }
  RED.nodes.registerType('gpss-connect', GpssConnectNode as unknown as (this: Node, def: NodeDef) => void);
};
