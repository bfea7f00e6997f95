// The node kit: what the eight nodes share, one implementation each. The nodes import it only
// through this file (ARCHITECTURE.md). It knows Node-RED, and nothing of a particular node.

// Config nodes and their users: register, probe/state as the users' status, close after them.
export { ConfigUsers, hostUsers, closeAfterUsers, useConfigNodes, UserStatus } from './config-users';
export type { UsersHost, ConfigUse, CloseAfterUsersOptions } from './config-users';
export { ConfigProbe, PROBE_TIMEOUT_MS, probeTexts, watchProbes, withTimeout } from './probe';
export type { ProbeResult, ProbeState, ProbeStatusTexts, ProbedConfig, NodeStatusLike } from './probe';
export type { GreenplumDbConfigNode, GreenplumDbCreds, GpssServerConfigNode, OssAccountNode } from './config-types';
export { useServer, useServerWith, stateChangeLog } from './gpss-server-user';
export { readGpssServerSettings, remoteEndpoint } from './gpss-server-settings';
export type { GpssServerCreds, GpssServerSettings, GpssServerSettingsDef } from './gpss-server-settings';
export { EmbeddedGpss, startBounded } from './embedded-gpss';
export type { ServerUse } from './gpss-server-user';

// Status: one throttle; texts from the locale files.
export { ThrottledStatus, shortCount } from './status';
export { formatBytes, progressText, progressStatus, transferDoneStatus, transferLog } from './transfer-report';
export type { ProgressCounters, TransferTotals } from './transfer-report';
export type { StatusTarget } from './status';
export { translator, catalogText } from './i18n';

// Settings (one policy: empty → default, invalid → SettingError naming the option) and the one
// rule for values a message sets instead of the dialog.
export { SettingError, intSetting, boolSetting, textSetting, choiceSetting, parseColumnList } from '../../shared/settings';
export { resolveField, resolveText, isFixed } from './overrides';
export type { OverridableField } from './overrides';

// Errors and redaction.
export { asError, errorText, oneLine, errorStatus, NodeError, toNodeError, failedSetup } from './errors';
export type { NodeErrorInfo } from './errors';
export { redactSecrets } from '../../shared/redact';

// Message sequences (msg.parts).
export { nestedParts, partsOf, SequenceCounter } from './sequence';
export type { Parts, PartSeen } from './sequence';

// Database login (greenplum-db) and the dialogs' Test connection endpoints.
export { readDbSettings, dbClientConfig, dbConnectionUrl } from './db-settings';
export type { DbSettings } from './db-settings';
export { checkDatabase } from './db-check';
export type { DbCheckResult } from './db-check';
export { registerTestEndpoint, registerConfigLookup, typedOrStored } from './admin-test';
export type { Body, TestOutcome } from './admin-test';

// GPSS dialog fields → the client's options.
export { buildOpenOptions, writeBytesSetting, bufferSetting, readWriteSettings, DEFAULT_COMMIT_INTERVAL_MS } from './gpss-options';
export type { TargetDef, WriteSettingsDef, WriteSettings } from './gpss-options';
export { TargetOptions } from './target-options';
export type { OverridableTargetDef } from './target-options';

// gpss-write: its status, job mode's commit at the end of a sequence, what a flush on close
// could not deliver.
export { writeStatus } from './write-status';
export type { WriteProgress } from './write-status';
export { SequenceCommit, SEQUENCE_IDLE_MS } from './sequence-commit';
export type { SequenceCommitHooks } from './sequence-commit';
export { stoppedReceivers, warnCommittedWhileClosing } from './stopped-receivers';

// Transfers: one at a time and cancellable on close; pooled database sessions; message pacing.
export { SerialQueue, TransferQueue } from './task-queue';
export { withClient, discardAfterUse, canceller, pooledSession } from './db-session';
export { Credits } from './credits';
