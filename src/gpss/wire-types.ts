/**
 * Shapes of proto messages as @grpc/proto-loader presents them (keepCase, longs as strings),
 * shared by the client and gpss-pg so that both sides read and write the same fields.
 */

/** `api.ColumnInfo` (DescribeTable's answer, one per column). */
export interface ColumnInfoMessage {
  Name: string;
  DatabaseType: string;
  HasLength: boolean;
  Length: string;
  HasPrecisionScale: boolean;
  Precision: string;
  Scale: string;
  HasNullable: boolean;
  Nullable: boolean;
}
