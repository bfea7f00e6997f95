// Which objects an import reads, decided once from the prefix and "folder only" for both modes, so the client
// listing and the oss:// external table read the same set (pure; unit-tested).
//
// oss_ext (aliyun_oss_ext `ossapi.c` list_ossfiles_ondir): `prefix=` lists every key that
// starts with the value (ListObjects, no delimiter: recursive); `dir=` lists with delimiter
// '/', i.e. only the direct children of the folder. Both skip keys ending in '/'. Measured on
// Greenplum 6.24.3 + oss_ext: prefix= sends `delimiter=` (empty), dir= sends `delimiter=/`.
// The dialog's prefix therefore means a recursive prefix match in both modes (what the folder
// browser and client mode always did); "folder only" selects the direct children of a folder
// ending in '/' (external: `dir=`; client: ListObjectsV2 with delimiter '/').
import { optionError } from './transfer-options';

export interface ObjectSelection {
  /** For the client listing (listObjects / importFromOss / readRowsFromOss). */
  list: { prefix: string; directOnly: boolean };
  /** For the external table's LOCATION. */
  location: { mode: 'prefix' | 'dir'; path: string };
  /** A short human description for errors and logs. */
  describe: string;
}

export function objectSelection(prefix: string, folderOnly: boolean): ObjectSelection {
  if (folderOnly) {
    if (!prefix.endsWith('/')) {
      throw optionError('prefix', `"folder only" needs a prefix that names a folder, ending in "/" (got ${JSON.stringify(prefix).slice(0, 80)})`);
    }
    return { list: { prefix, directOnly: true }, location: { mode: 'dir', path: prefix }, describe: `objects directly in folder ${prefix}` };
  }
  return { list: { prefix, directOnly: false }, location: { mode: 'prefix', path: prefix }, describe: `objects under prefix ${prefix || '(bucket root)'}` };
}
