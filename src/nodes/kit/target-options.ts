// The target of a gpss-connect or gpss-write message: the dialog's table options with the table
// and schema resolved for the message (overrides.ts), as the client's OpenOptions. With a fixed
// table and schema (the usual case) the options are built once, on first success.
import type { Node, NodeAPI } from 'node-red';
import type { OpenOptions } from '../../gpss';
import { buildOpenOptions, type TargetDef } from './gpss-options';
import { isFixed, resolveText, type OverridableField } from './overrides';

export interface OverridableTargetDef extends TargetDef {
  tableType?: string;
  schemaType?: string;
}

export class TargetOptions {
  private readonly table: OverridableField;
  private readonly schema: OverridableField;
  /** The table and schema never depend on the message. */
  readonly fixed: boolean;
  private fixedOptions: OpenOptions | null = null;

  constructor(
    private readonly RED: NodeAPI,
    private readonly node: Node,
    private readonly def: OverridableTargetDef,
  ) {
    this.table = { value: def.table, type: def.tableType };
    this.schema = { value: def.schema, type: def.schemaType };
    this.fixed = isFixed(this.table) && isFixed(this.schema);
  }

  /** The options for this message; throws a SettingError naming a bad option. */
  for(msg: object): OpenOptions {
    if (this.fixedOptions) return this.fixedOptions;
    const { RED, node } = this;
    const options = buildOpenOptions({ ...this.def, table: resolveText(RED, node, msg, this.table), schema: resolveText(RED, node, msg, this.schema) });
    if (this.fixed) this.fixedOptions = options;
    return options;
  }
}
