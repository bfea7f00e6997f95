// gpss-connect: opens a load job (Connect or reuse a session, DescribeTable once, Open with the
// mode and options of the dialog) and passes the message on with msg.gpss = { job, table, columns }.
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { buildOpenOptions, intSetting, TargetDef } from './shared/target';
import { useServer } from './shared/server-user';
import { shortCount } from './shared/status';
import { DEFAULT_JOB_KEY_LIMIT, DEFAULT_WRITE_BYTES, MAX_JOB_KEY_LIMIT, MAX_WRITE_BYTES, type JobLimits } from '../gpss';
import { translator } from './shared/i18n';

interface GpssConnectDef extends NodeDef, TargetDef {
  server: string;
  tableType?: string;
  schemaType?: string;
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
    const t = translator(RED, 'gpss-connect');
    const node = this;
    const use = useServer(RED, node, def.server);
    const limits: JobLimits = {
      writeBytes: Math.min(MAX_WRITE_BYTES, intSetting(def.writeKb, DEFAULT_WRITE_BYTES / 1024, 16, 3584) * 1024),
      buffer: {
        maxRows: intSetting(def.bufferRows, 200000, 1, 1e9),
        maxBytes: intSetting(def.bufferMb, 64, 1, 4096) * 1024 * 1024,
      },
      keyLimit: intSetting(def.keyLimit, DEFAULT_JOB_KEY_LIMIT, 0, MAX_JOB_KEY_LIMIT),
      keyCheckStopped: (text) => {
        node.warn(`gpss-connect: ${text}`);
        use.status.set({ fill: 'yellow', shape: 'dot', text: t('status.keyCheckStopped', { limit: shortCount(limits.keyLimit ?? 0) }) });
      },
    };

    node.on('input', (msg: Msg, send, done) => {
      try {
        if (!use.server) throw new Error('gpss-connect: no gpss-server config node selected');
        const server = use.server;
        const table = RED.util.evaluateNodeProperty(def.table ?? '', def.tableType || 'str', node, msg) as unknown;
        const schema = RED.util.evaluateNodeProperty(def.schema ?? '', def.schemaType || 'str', node, msg) as unknown;
        const options = buildOpenOptions({
          ...def,
          table: typeof table === 'string' ? table : '',
          schema: typeof schema === 'string' ? schema : '',
        });
        use.status.set({ fill: 'yellow', shape: 'ring', text: 'node-red:common.status.connecting' });
        server.service.openJob(options, limits).then(
          (job) => {
            msg.gpss = { job: job.id, table: job.target, columns: job.columns.map((c) => c.name) };
            use.status.set({ fill: 'green', shape: 'dot', text: t('status.open', { target: job.target }) });
            send(msg);
            done();
          },
          (err: unknown) => {
            const e = err instanceof Error ? err : new Error(String(err));
            use.status.set(use.stateStatus('error', e.message));
            done(e);
          },
        );
      } catch (err) {
        done(err instanceof Error ? err : new Error(String(err)));
      }
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      use.release().then(done, done);
    });
  }
  RED.nodes.registerType('gpss-connect', GpssConnectNode as unknown as (this: Node, def: NodeDef) => void);
};
