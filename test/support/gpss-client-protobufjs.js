'use strict';
// Anchor for the row codec tests and benchmark: protobufjs's reflection-generated `api.Row`
// from the same proto/gpss.proto, plus converters between its messages and our DBValue shape.
const path = require('node:path');
const protobuf = require('protobufjs');

const root = protobuf.loadSync(path.join(__dirname, '../../proto/gpss.proto'));
const Row = root.lookupType('api.Row');
const WriteRequest = root.lookupType('api.WriteRequest');

/** protobufjs message for our DBValue[]; proto3 zero Timestamp fields left out (canonical). */
function toPbRow(values) {
  return Row.create({
    Columns: values.map((v) => {
      const key = Object.keys(v)[0];
      if (key === undefined) return root.lookupType('api.DBValue').create({});
      if (key === 'TimeStampValue') {
        const ts = {};
        if (v.TimeStampValue.seconds !== '0') ts.seconds = v.TimeStampValue.seconds;
        if (v.TimeStampValue.nanos !== 0) ts.nanos = v.TimeStampValue.nanos;
        return root.lookupType('api.DBValue').create({ TimeStampValue: ts });
      }
      return root.lookupType('api.DBValue').create({ [key]: v[key] });
    }),
  });
}

function pbEncode(values) {
  return Buffer.from(Row.encode(toPbRow(values)).finish());
}

/** Decodes with protobufjs and converts back to our DBValue shape. */
function pbDecode(bytes) {
  const msg = Row.decode(bytes);
  return msg.Columns.map((c) => {
    const key = c.DBType; // protobufjs's virtual oneof property: name of the set member
    if (!key) return {};
    let val = c[key];
    if (key === 'Int64Value') val = val.toString();
    else if (key === 'TimeStampValue') val = { seconds: (val.seconds ?? 0).toString(), nanos: val.nanos ?? 0 };
    else if (key === 'BytesValue') val = Buffer.from(val);
    else if (key === 'NullValue') val = 0;
    return { [key]: val };
  });
}

module.exports = { root, Row, WriteRequest, toPbRow, pbEncode, pbDecode };
