// A gpss-pg run inside Node-RED for a gpss-server config node in embedded mode: started on first
// use (a failed start is tried again on the next use) and stopped with the config node; and the
// Test connection's throwaway one, whose start is bounded.
import { startGpssServer, type GpssServerOptions, type RunningGpssServer } from '../../gpss-server';
import { errorText } from './errors';
import { withTimeout } from './probe';

/** Starts gpss-pg; one that starts after `timeoutMs` is stopped, not left listening. */
export async function startBounded(options: GpssServerOptions, timeoutMs: number): Promise<RunningGpssServer> {
  const starting = startGpssServer(options);
  return withTimeout(starting, timeoutMs, 'embedded gpss-pg start').catch((err: unknown) => {
    starting.then((late) => late.stop(), () => undefined).catch(() => undefined);
    throw err;
  });
}

export class EmbeddedGpss {
  private running: Promise<RunningGpssServer> | null = null;

  constructor(
    /** The server's options, read at its start. */
    private readonly options: () => GpssServerOptions,
    /** It is listening. */
    private readonly started: (server: RunningGpssServer) => void,
  ) {}

  /** Where it listens, once started (the first call starts it). */
  async endpoint(): Promise<{ host: string; port: number }> {
    if (!this.running) {
      const starting = startGpssServer(this.options());
      this.running = starting;
      starting.then(this.started, () => {
        if (this.running === starting) this.running = null; // try again on next use
      });
    }
    const srv = await this.running;
    return { host: srv.host, port: srv.port };
  }

  /** Stops it when it was started; a failed stop is reported through `warn`, not thrown. */
  async stop(warn: (text: string) => void): Promise<void> {
    const srv = this.running ? await this.running.catch(() => null) : null;
    this.running = null;
    if (srv) await srv.stop().catch((err: unknown) => warn(`embedded gpss-pg stop: ${errorText(err)}`));
  }
}
