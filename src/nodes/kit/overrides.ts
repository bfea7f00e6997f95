// The one rule for values a message may set instead of the dialog, for all the flow nodes
// (gpss-connect, gpss-write, gpss-close, oss-export, oss-import, greenplum-query), in this order:
// 1. a dialog field given as a TypedInput of another type than `str` (msg., flow., global.,
//    env, …) is evaluated against the message, as Node-RED's core nodes do
//    (RED.util.evaluateNodeProperty);
// 2. else a fixed message property the node documents for that value (e.g. msg.table,
//    msg.prefix) wins when the message carries it (anything but undefined or null);
// 3. else the dialog's value.
// A value that comes from the message is checked like the dialog's (the caller's reader), and
// an invalid one fails that message only, naming the property.
import type { Node, NodeAPI } from 'node-red';

export interface OverridableField {
  /** The dialog's value (a TypedInput's value, or a plain field). */
  value: unknown;
  /** The TypedInput's type ('str' when absent: a plain field). */
  type?: string;
  /** The message property that overrides the dialog, when the node documents one. */
  msgProperty?: string;
}

/** True when the field's value never depends on the message (cacheable per node). */
export function isFixed(field: OverridableField): boolean {
  return (field.type || 'str') === 'str' && !field.msgProperty;
}

/** The field's value for this message, by the rule above. */
export function resolveField(RED: NodeAPI, node: Node, msg: object, field: OverridableField): unknown {
  const type = field.type || 'str';
  if (type !== 'str') return RED.util.evaluateNodeProperty(String(field.value ?? ''), type, node, msg as never);
  if (field.msgProperty) {
    const v = (msg as Record<string, unknown>)[field.msgProperty];
    if (v !== undefined && v !== null) return v;
  }
  return field.value;
}

/** resolveField() for a text: a non-string result is '' (the caller's "not given"). */
export function resolveText(RED: NodeAPI, node: Node, msg: object, field: OverridableField): string {
  const v = resolveField(RED, node, msg, field);
  return typeof v === 'string' ? v : '';
}
