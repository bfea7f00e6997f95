#!/usr/bin/env node
// `oss-emulator` CLI: runs the loopback OSS emulator until SIGINT/SIGTERM.
import {
  parseFaultKinds, startOssEmulator, FaultKind, DEFAULT_HEADERS_TIMEOUT_MS, DEFAULT_MAX_CLOCK_SKEW_MS, DEFAULT_REGION, DEFAULT_REQUEST_TIMEOUT_MS,
} from './index';
import { readFlags, type FlagSpec } from '../cli-args';

const USAGE = `Usage: oss-emulator [options]
  --listen HOST:PORT         address to listen on (default 127.0.0.1:9000; port 0 = free port)
  --data DIR                 data directory (default ./.devstack/oss-emulator, git-ignored)
  --access-key-id ID         access key id clients sign with (default: env OSS_EMULATOR_ACCESS_KEY_ID or "devkey")
  --access-key-secret SECRET secret (default: env OSS_EMULATOR_ACCESS_KEY_SECRET or "devsecret")
  --bucket NAME              bucket to create at start; repeatable; the first is the default bucket
  --fault-rate R             probability 0..1 of injecting a fault into a request (default 0)
  --fault-kinds K[,K...]     fault kinds: 500,503,reset,slow,truncate (default: all)
  --region NAME              V4 requests must be signed for this region (default ${DEFAULT_REGION})
  --max-clock-skew SECONDS   refuse signed requests whose date is further off, 403 RequestTimeTooSkewed
                             as OSS does (default ${DEFAULT_MAX_CLOCK_SKEW_MS / 1000}); 0 = no check
  --headers-timeout SECONDS  close a connection whose request headers take longer (default ${DEFAULT_HEADERS_TIMEOUT_MS / 1000})
  --request-timeout SECONDS  close a connection whose whole request takes longer (default ${DEFAULT_REQUEST_TIMEOUT_MS / 1000})
  --no-auth                  debugging only: accept unsigned and wrongly signed requests
  --quiet                    do not log requests
  -h, --help                 this help`;

interface CliOptions {
  listen: string; data: string; accessKeyId: string; accessKeySecret: string; buckets: string[];
  faultRate: number; faultKinds?: FaultKind[]; quiet: boolean; noAuth: boolean; maxClockSkewMs?: number;
  region?: string; headersTimeoutMs?: number; requestTimeoutMs?: number;
}

function seconds(name: string, v: string, min: number): number {
  if (!/^\d+$/.test(v) || Number(v) < min) throw new Error(`${name} must be a whole number of seconds${min > 0 ? ` ≥ ${min}` : ''}, got "${v}"`);
  return Number(v) * 1000;
}

const FLAGS: FlagSpec = {
  values: ['--listen', '--data', '--access-key-id', '--access-key-secret', '--bucket', '--fault-rate', '--fault-kinds', '--max-clock-skew', '--region', '--headers-timeout', '--request-timeout'],
  switches: ['--help', '--quiet', '--no-auth'],
  short: { h: '--help' },
};

export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): CliOptions | 'help' {
  const o: CliOptions = {
    listen: '127.0.0.1:9000', data: '.devstack/oss-emulator',
    accessKeyId: env.OSS_EMULATOR_ACCESS_KEY_ID || 'devkey',
    accessKeySecret: env.OSS_EMULATOR_ACCESS_KEY_SECRET || 'devsecret',
    buckets: [], faultRate: 0, quiet: false, noAuth: false,
  };
  for (const { name, value } of readFlags(argv, FLAGS)) {
    switch (name) {
      case '--help': return 'help';
      case '--listen': o.listen = value(); break;
      case '--data': o.data = value(); break;
      case '--access-key-id': o.accessKeyId = value(); break;
      case '--access-key-secret': o.accessKeySecret = value(); break;
      case '--bucket': o.buckets.push(value()); break;
      case '--fault-rate': {
        const v = value();
        o.faultRate = Number(v);
        if (!(o.faultRate >= 0 && o.faultRate <= 1)) throw new Error(`--fault-rate must be a number between 0 and 1, got "${v}"`);
        break;
      }
      case '--fault-kinds': o.faultKinds = parseFaultKinds(value()); break;
      case '--quiet': o.quiet = true; break;
      case '--no-auth': o.noAuth = true; break;
      case '--max-clock-skew': o.maxClockSkewMs = seconds(name, value(), 0); break;
      case '--region': o.region = value(); break;
      case '--headers-timeout': o.headersTimeoutMs = seconds(name, value(), 1); break;
      case '--request-timeout': o.requestTimeoutMs = seconds(name, value(), 1); break;
      default: throw new Error(`unknown option "${name}"`);
    }
  }
  return o;
}

async function main(): Promise<void> {
  let opts: CliOptions | 'help';
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`oss-emulator: ${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (opts === 'help') {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const emu = await startOssEmulator({
    listen: opts.listen, dataDir: opts.data, accessKeyId: opts.accessKeyId, accessKeySecret: opts.accessKeySecret,
    buckets: opts.buckets, faultRate: opts.faultRate, faultKinds: opts.faultKinds,
    noAuth: opts.noAuth, maxClockSkewMs: opts.maxClockSkewMs, region: opts.region,
    headersTimeoutMs: opts.headersTimeoutMs, requestTimeoutMs: opts.requestTimeoutMs,
    log: opts.quiet ? undefined : (line) => process.stdout.write(line + '\n'),
  });
  process.stdout.write(`oss-emulator listening on ${emu.endpoint} (data ${emu.dataDir}; buckets ${opts.buckets.join(', ') || 'none'}; access key id ${opts.accessKeyId})\n`);
  if (opts.noAuth) process.stdout.write('oss-emulator: WARNING --no-auth: signatures are not checked\n');
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    emu.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`oss-emulator: ${(err as Error).message ?? String(err)}\n`);
    process.exit(1);
  });
}
